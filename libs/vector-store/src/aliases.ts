import { mkdir, readFile, rename, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Aliases of a LanceDB data directory, kept in `<dir>/_aliases.json` ({"alias": "collection"}).
 *
 * - Writers replace the file atomically (write a temp file, then rename), under a lock directory
 *   (`mkdir` is atomic) so two processes updating different aliases cannot lose each other's change.
 * - Readers re-read the file only when its identity (inode, size, mtime) changed, so resolving an
 *   alias costs one `stat` and a switch made by another process is seen on the next call.
 */
export class AliasFile {
  private readonly path: string;
  private readonly lockPath: string;
  private cache: { sig: string; map: Record<string, string> } | undefined;

  constructor(dir: string) {
    this.path = join(dir, '_aliases.json');
    this.lockPath = join(dir, '_aliases.lock');
  }

  async read(): Promise<Record<string, string>> {
    let sig: string;
    try {
      const s = await stat(this.path, { bigint: true });
      sig = `${s.ino}:${s.size}:${s.mtimeNs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    if (this.cache?.sig === sig) return this.cache.map;
    const map = JSON.parse(await readFile(this.path, 'utf8')) as Record<string, string>;
    this.cache = { sig, map };
    return map;
  }

  async resolve(name: string): Promise<string> {
    return (await this.read())[name] ?? name;
  }

  async set(alias: string, collection: string): Promise<void> {
    await this.withLock(async () => {
      this.cache = undefined;
      const map = { ...(await this.read()), [alias]: collection };
      const tmp = `${this.path}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, JSON.stringify(map, null, 2) + '\n', 'utf8');
      await rename(tmp, this.path);
      this.cache = undefined;
    });
  }

  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await mkdir(this.lockPath);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // A lock older than 30 s belongs to a crashed process: break it.
        const age = await stat(this.lockPath).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > 30_000) await rmdir(this.lockPath).catch(() => undefined);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${this.lockPath}`, { cause: err });
        await sleep(10 + Math.random() * 20);
      }
    }
    try {
      return await fn();
    } finally {
      await rmdir(this.lockPath).catch(() => undefined);
    }
  }
}
