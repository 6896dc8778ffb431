import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deterministicEventId, newEnvelope } from './envelope.js';

describe('envelopes', () => {
  it('gives the same UUID for the same parts and a different one otherwise', () => {
    const a = deterministicEventId('job-1', '1', 'completed');
    assert.equal(a, deterministicEventId('job-1', '1', 'completed'));
    assert.notEqual(a, deterministicEventId('job-1', '2', 'completed'));
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  it('fills a fresh envelope', () => {
    const before = Date.now();
    const e = newEnvelope('t', 'c');
    const after = Date.now();
    assert.equal(e.tenant_id, 't');
    assert.equal(e.schema_version, 1);
    assert.ok(e.occurred_at >= before && e.occurred_at <= after, 'occurred_at is the clock reading at creation');
    assert.notEqual(e.event_id, newEnvelope('t', 'c').event_id);
  });
});
