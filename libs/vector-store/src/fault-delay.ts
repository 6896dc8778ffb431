import { readFile } from 'node:fs/promises';
import type { ChunkPoint, EnsureCollectionOptions, SearchHit, SearchQuery, VectorStore } from './types.js';

/**
 * TEST-ONLY fault injection (the chaos suite, tools/chaos): the environment variable that names a file holding a
 * delay in ms. When it is set, {@link vectorStoreFromSettings} wraps the store in a {@link DelayedVectorStore}
 * that reads the file. Never set it in production.
 */
export const FAULT_DELAY_FILE_ENV = 'VECTOR_STORE_FAULT_DELAY_FILE';

export interface DelayedVectorStoreOptions {
  /** File holding the extra latency in ms (a decimal number); missing, empty or invalid = 0. */
  file: string;
  /** How long a read of the file is reused, in ms (default 250), so a search costs no extra syscall most of the time. */
  refreshMs?: number;
  /** Injected for tests; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Injected for tests; default Date.now (epoch ms). */
  now?: () => number;
}

/**
 * A vector store whose `search` and `upsert` each take `delay` ms longer, the delay read from a file so a chaos run
 * can switch it on and off in running services without a restart (our own code: a test switch, not a library
 * concern).
 */
export class DelayedVectorStore implements VectorStore {
  private delayMs = 0;
  private readAt = -Infinity;
  private readonly refreshMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(
    private readonly inner: VectorStore,
    private readonly opts: DelayedVectorStoreOptions,
  ) {
    this.refreshMs = opts.refreshMs ?? 250;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = opts.now ?? Date.now;
  }

  /** The delay now in force, in ms (re-reads the file at most every `refreshMs`). */
  async currentDelayMs(): Promise<number> {
    if (this.now() - this.readAt >= this.refreshMs) {
      this.readAt = this.now();
      const text = await readFile(this.opts.file, 'utf8').catch(() => '');
      const n = Number(text.trim());
      this.delayMs = text.trim() !== '' && Number.isFinite(n) && n > 0 ? n : 0;
    }
    return this.delayMs;
  }

  private async delay(): Promise<void> {
    const ms = await this.currentDelayMs();
    if (ms > 0) await this.sleep(ms);
  }

  ensureCollection(name: string, opts: EnsureCollectionOptions): Promise<void> {
    return this.inner.ensureCollection(name, opts);
  }
  async upsert(collection: string, points: ChunkPoint[]): Promise<void> {
    await this.delay();
    return this.inner.upsert(collection, points);
  }
  deleteByDocument(collection: string, tenantId: string, documentId: string, keepChunkIds?: readonly string[]): Promise<number> {
    return this.inner.deleteByDocument(collection, tenantId, documentId, keepChunkIds);
  }
  async search(collection: string, q: SearchQuery): Promise<SearchHit[]> {
    await this.delay();
    return this.inner.search(collection, q);
  }
  count(collection: string, tenantId?: string): Promise<number> {
    return this.inner.count(collection, tenantId);
  }
  setAlias(alias: string, collection: string): Promise<void> {
    return this.inner.setAlias(alias, collection);
  }
  resolveAlias(alias: string): Promise<string | undefined> {
    return this.inner.resolveAlias(alias);
  }
  listCollections(): Promise<string[]> {
    return this.inner.listCollections();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
