import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { childTraceparent, currentTraceContext, newTraceparent, runWithTraceContext } from './trace-context.js';
import { ReadinessRegistry } from './health.js';

describe('trace context', () => {
  it('keeps the trace id and changes the span id for a child', () => {
    const parent = newTraceparent();
    const child = childTraceparent(parent);
    assert.equal(child.slice(0, 35), parent.slice(0, 35));
    assert.notEqual(child, parent);
  });

  it('starts a new trace when the parent is malformed or hostile', () => {
    for (const bad of [undefined, '', 'x', "00-'; DROP TABLE jobs;--", '00-' + 'g'.repeat(32) + '-' + '0'.repeat(16) + '-01']) {
      assert.match(childTraceparent(bad), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    }
  });

  it('exposes the context only inside the scope', () => {
    assert.equal(currentTraceContext(), undefined);
    const seen = runWithTraceContext({ traceparent: 't', correlationId: 'c' }, () => currentTraceContext());
    assert.deepEqual(seen, { traceparent: 't', correlationId: 'c' });
  });
});

describe(ReadinessRegistry.name, () => {
  it('is ready only when every check passes, and not while draining', async () => {
    const sut = new ReadinessRegistry();
    sut.register({ name: 'ok', check: async () => {} });
    assert.equal((await sut.report()).ready, true);
    sut.register({
      name: 'down',
      check: async () => {
        throw new Error('connection refused');
      },
    });
    const report = await sut.report();
    assert.equal(report.ready, false);
    assert.equal(report.checks['down']?.error, 'connection refused');
    const slow = new ReadinessRegistry();
    slow.register({ name: 'slow', check: () => new Promise(() => {}) });
    assert.match((await slow.report(20)).checks['slow']?.error ?? '', /did not answer within 20 ms/);
    const draining = new ReadinessRegistry();
    draining.register({ name: 'ok', check: async () => {} });
    draining.markDraining();
    const drainingReport = await draining.report();
    assert.equal(drainingReport.ready, false);
    assert.equal(drainingReport.checks['draining']?.ok, false);
  });
});
