/**
 * The supervisor against real child processes: a tiny HTTP server written to a temp dir stands in for a
 * service (the stack is not needed). Every wait awaits a supervisor event or a child's exit, never a sleep.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { eventually } from '@llmgov/testing';
import { spawnManaged, type ManagedProcess, type SupervisorEvent } from './processes.js';

let dir: string;
let script: string;

/** A free TCP port on loopback (listen on 0, read it, close). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** Resolves with the first supervisor event of `kind`. */
function nextEvent(p: ManagedProcess, kind: SupervisorEvent['kind']): Promise<SupervisorEvent> {
  return new Promise((resolve) => {
    const listener = (e: SupervisorEvent) => {
      if (e.kind !== kind) return;
      p.off('supervisor', listener);
      resolve(e);
    };
    p.on('supervisor', listener);
  });
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'supervisor-spec-'));
  script = path.join(dir, 'server.mjs');
  // Exits with code 3 at once when CRASH_FILE exists (a crash loop); otherwise serves /health with its pid.
  await writeFile(
    script,
    `import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
if (process.env.CRASH_FILE && existsSync(process.env.CRASH_FILE)) process.exit(3);
createServer((req, res) => { res.writeHead(req.url === '/health' ? 200 : 404); res.end(String(process.pid)); })
  .listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`,
  );
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function start(name: string, restart: Parameters<typeof spawnManaged>[0]['restart']) {
  const port = await freePort();
  const crashFile = path.join(dir, `${name}.crash`);
  const p = await spawnManaged({ name, script, env: { PORT: String(port), CRASH_FILE: crashFile }, port, logDir: dir, readyPath: '/health', restart });
  return { p, port, crashFile };
}

describe('spawnManaged supervisor', () => {
  it('restarts a SIGKILLed child on the same port, counts and logs the restart', async () => {
    const { p } = await start('killed', { initialDelayMs: 20, maxDelayMs: 100 });
    try {
      const firstPid = p.child.pid;
      const events: SupervisorEvent[] = [];
      p.on('supervisor', (e) => events.push(e));
      const ready = nextEvent(p, 'ready');
      p.child.kill('SIGKILL');
      await ready;
      assert.equal(p.restarts, 1);
      assert.equal(p.state, 'running');
      assert.notEqual(p.child.pid, firstPid);
      assert.deepEqual(
        events.map((e) => e.kind),
        ['exited', 'restarting', 'ready'],
      );
      assert.equal(events[0]!.signal, 'SIGKILL');
      const res = await fetch(`${p.url}/health`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), String(p.child.pid), 'the new child answers on the old port');
    } finally {
      await p.stop();
    }
    assert.match(await readFile(p.logFile, 'utf8'), /\[supervisor\] .* restarting: restart 1 in \d+ ms/);
  });

  it('does not restart after a deliberate stop', async () => {
    const { p } = await start('stopped', { initialDelayMs: 20 });
    const events: SupervisorEvent[] = [];
    p.on('supervisor', (e) => events.push(e));
    await p.stop();
    assert.equal(p.state, 'stopped');
    assert.equal(p.restarts, 0);
    assert.deepEqual(events, []);
    await assert.rejects(fetch(`${p.url}/health`));
  });

  it('gives up with a crash-loop report when restarts come faster than the budget allows', async () => {
    const { p, crashFile } = await start('crashloop', { initialDelayMs: 10, maxDelayMs: 40, maxRestarts: 3, windowMs: 600_000 });
    await writeFile(crashFile, '');
    const failures: SupervisorEvent[] = [];
    p.on('supervisor', (e) => e.kind === 'start-failed' && failures.push(e));
    const loop = nextEvent(p, 'crash-loop');
    p.child.kill('SIGKILL');
    const e = await loop;
    assert.equal(p.state, 'crash-loop');
    assert.equal(p.restarts, 3);
    assert.equal(failures.length, 3);
    assert.match(failures[0]!.message, /exited with code 3 during start-up/);
    assert.match(e.message, /3 restarts within 600000 ms/);
    await p.stop();
  });

  it('grows the backoff delay between consecutive restarts', async () => {
    const { p, crashFile } = await start('backoff', { initialDelayMs: 40, maxDelayMs: 10_000, maxRestarts: 4, windowMs: 600_000 });
    await writeFile(crashFile, '');
    const delays: number[] = [];
    p.on('supervisor', (e) => e.kind === 'restarting' && delays.push(e.delayMs!));
    const loop = nextEvent(p, 'crash-loop');
    p.child.kill('SIGKILL');
    await loop;
    await p.stop();
    // Half jitter: restart n waits in [d/2, d) with d = 40 * 2^(n-1): [20,40), [40,80), [80,160), [160,320).
    assert.equal(delays.length, 4);
    delays.forEach((d, i) => {
      assert.ok(d >= 20 * 2 ** i && d < 40 * 2 ** i, `delay ${i + 1} = ${d}`);
    });
  });

  it('without a restart policy reports the exit and leaves the process down', async () => {
    const { p } = await start('no-policy', false);
    const exited = nextEvent(p, 'exited');
    p.child.kill('SIGKILL');
    const e = await exited;
    assert.equal(p.state, 'exited');
    assert.equal(p.restarts, 0);
    assert.match(e.message, /no restart policy/);
    await p.stop();
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`takes its children down when the supervising program is killed with ${signal} and does not handle it`, async () => {
      // A program that supervises one child and prints its pid, with no signal handler of its own (like the demo).
      const parent = path.join(dir, `parent-${signal}.mjs`);
      const processesJs = path.join(path.dirname(fileURLToPath(import.meta.url)), 'processes.js');
      await writeFile(
        parent,
        `import { spawnManaged } from ${JSON.stringify(processesJs)};
const port = Number(process.argv[2]);
const p = await spawnManaged({ name: 'orphan-${signal}', script: ${JSON.stringify(script)}, env: { PORT: String(port) }, port, logDir: ${JSON.stringify(dir)}, readyPath: '/health' });
console.log('CHILD_PID=' + p.child.pid);
setInterval(() => undefined, 1000);
`,
      );
      const prog = spawn(process.execPath, [parent, String(await freePort())], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = once(prog, 'exit');
      let childPid = 0;
      try {
        // Other output may come first (a runner's environment can make Node print warnings); wait for our line.
        for await (const line of createInterface({ input: prog.stdout! })) {
          const m = /^CHILD_PID=(\d+)$/.exec(line.trim());
          if (m) {
            childPid = Number(m[1]);
            break;
          }
        }
        assert.ok(childPid > 0, 'the supervising program printed its child pid');
        prog.kill(signal);
        const [code] = (await exited) as [number | null];
        assert.equal(code, signal === 'SIGTERM' ? 143 : 130, 'exits with 128 + the signal number, as the default action would');
        await eventually(`child ${childPid} gone`, async () => {
          try {
            const stat = await readFile(`/proc/${childPid}/stat`, 'utf8');
            return stat.split(') ')[1]?.startsWith('Z') ? true : undefined; // a zombie not yet reaped is dead too
          } catch {
            return true;
          }
        });
      } finally {
        // Whatever failed above, leave nothing running: a live child would keep this spec's process alive.
        prog.kill('SIGKILL');
        if (childPid > 0) {
          try {
            process.kill(childPid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
    });
  }
});
