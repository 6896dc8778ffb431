/**
 * The supervisor with a real service against the real local stack: a SIGKILLed service comes back, ready, on
 * the same port, and a deliberate stop is final.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningPlatform, SupervisorEvent } from '../src/index.js';
import { bootAndStart } from './support/stack.js';

let platform: RunningPlatform;
const events: SupervisorEvent[] = [];

before(
  async () => {
    ({ platform } = await bootAndStart({
      basePort: 18300,
      engines: false,
      services: ['cost-attributor'],
      logName: 'test-supervisor',
      env: { LOG_LEVEL: 'warn' },
      restart: { initialDelayMs: 100, maxDelayMs: 1000 },
      onSupervisorEvent: (e) => events.push(e),
    }));
  },
  { timeout: 120_000 },
);

after(async () => {
  await platform?.stop();
});

describe('local supervisor', { timeout: 120_000 }, () => {
  it('restarts a SIGKILLed service, which is ready again on the same port', async () => {
    const svc = platform.services.get('cost-attributor')!;
    const port = new URL(svc.url).port;
    const oldPid = svc.child.pid;
    const ready = new Promise<SupervisorEvent>((resolve) => svc.on('supervisor', (e) => e.kind === 'ready' && resolve(e)));
    svc.child.kill('SIGKILL');
    const e = await ready;
    assert.equal(e.restarts, 1);
    assert.notEqual(svc.child.pid, oldPid);
    assert.equal(new URL(svc.url).port, port);
    const res = await fetch(`${svc.url}/health/ready`);
    assert.equal(res.status, 200);
    assert.deepEqual(platform.restarts(), { 'cost-attributor': 1 });
    assert.deepEqual(
      events.map((x) => x.kind),
      ['exited', 'restarting', 'ready'],
    );
  });

  it('does not restart a service that was stopped on purpose', async () => {
    await platform.stop();
    const svc = platform.services.get('cost-attributor')!;
    assert.equal(svc.state, 'stopped');
    assert.equal(svc.restarts, 1);
    await assert.rejects(fetch(`${svc.url}/health/live`));
    assert.equal(events.filter((x) => x.kind === 'restarting').length, 1);
  });
});
