import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayHeaders, shadowRunOfHeaders } from './headers.js';
import { POLICY_VERSION_METADATA, resolveTarget, shadowTarget, type SourceRecord, type TargetContext } from './target.js';

const source: SourceRecord = {
  partition: 2,
  offset: 41n,
  timestamp: 1_000,
  key: Buffer.from('job-1'),
  value: Buffer.from('raw'),
  headers: { traceparent: 't' },
};
const request = {
  event_id: 'e-1',
  occurred_at: 1_000,
  job_id: 'job-1',
  tenant_id: 'acme',
  prompt: 'q?',
  prompt_hash: 'h',
  options: { rag: true, max_tokens: 32 },
  metadata: { caller: 'faq' },
};

function ctx(value: unknown): TargetContext & { encoded: unknown[] } {
  const encoded: unknown[] = [];
  return {
    replayId: 'sr-20261129-abc',
    topic: 'inference.request.validated.v1',
    value,
    originEventId: 'e-1',
    encoded,
    encode: (v) => {
      encoded.push(v);
      return Promise.resolve(Buffer.from(JSON.stringify(v)));
    },
  };
}

describe('the shadow target', () => {
  it('copies a validated request pinned to the version, with a fresh event id and time and the run headers', async () => {
    const target = resolveTarget('shadow:7');
    assert.equal(target.name, 'shadow:7');
    assert.equal(target.version, '7');
    const c = ctx(request);
    const before = Date.now();
    const out = await target.toRecord(source, c);
    assert.ok(out);
    assert.equal(out.topic, 'inference.request.validated.v1');
    assert.equal(out.partition, 2);
    assert.deepEqual(out.key, source.key);
    const copy = c.encoded[0] as typeof request;
    assert.equal(copy.job_id, 'job-1', 'the router derives the copy id; the value keeps the user job id');
    assert.notEqual(copy.event_id, 'e-1');
    assert.ok(copy.occurred_at >= before);
    assert.deepEqual(copy.metadata, { caller: 'faq', [POLICY_VERSION_METADATA]: '7' });
    assert.equal(out.headers[ReplayHeaders.target], 'shadow:7');
    assert.equal(out.headers[ReplayHeaders.version], '7');
    assert.equal(out.headers[ReplayHeaders.originEventId], 'e-1');
    assert.equal(out.headers.traceparent, 't');
    assert.deepEqual(shadowRunOfHeaders(out.headers), { runId: 'sr-20261129-abc', version: 7 });
  });

  it('overrides a pin the request already had, and copies only the jobs of the sample', async () => {
    const target = shadowTarget('3', new Set(['job-1']));
    const c = ctx({ ...request, metadata: { [POLICY_VERSION_METADATA]: '1' } });
    assert.ok(await target.toRecord(source, c));
    assert.deepEqual((c.encoded[0] as typeof request).metadata, { [POLICY_VERSION_METADATA]: '3' });
    assert.equal(await target.toRecord(source, ctx({ ...request, job_id: 'job-2' })), null);
    assert.equal(await target.toRecord(source, ctx(request)), null, 'a job is copied once');
  });

  it('leaves out records that are no validated request (another topic, a null value)', async () => {
    const target = shadowTarget('3');
    for (const v of [null, 'text', { job_id: 'j', kind: 'COMPLETION', prompt_tokens: 3 }, { job_id: 'j', prompt: 'p' }])
      assert.equal(await target.toRecord(source, ctx(v)), null, JSON.stringify(v));
  });

  it('refuses a missing or malformed version', () => {
    for (const spec of ['shadow', 'shadow:', 'shadow:0', 'shadow:-1', 'shadow:v2', 'shadow:1.5', 'shadow:9999999999', 'shadow:2; rm -rf /'])
      assert.throws(() => resolveTarget(spec), /--target shadow needs a policy version/, spec);
  });
});

describe('shadowRunOfHeaders', () => {
  it('recognises only records a shadow run published', () => {
    assert.equal(shadowRunOfHeaders({}), undefined);
    assert.equal(shadowRunOfHeaders({ [ReplayHeaders.target]: 'reprocess', [ReplayHeaders.replayId]: 'rp-1' }), undefined);
    assert.equal(shadowRunOfHeaders({ [ReplayHeaders.target]: 'shadow:2' }), undefined, 'no run id');
    for (const bad of ['shadow:', 'shadow:x', 'shadow:-3', 'shadow:0', 'shadow:1e3'])
      assert.equal(shadowRunOfHeaders({ [ReplayHeaders.target]: bad, [ReplayHeaders.replayId]: 'rp-1' }), undefined, bad);
    assert.deepEqual(shadowRunOfHeaders({ [ReplayHeaders.target]: 'shadow:12', [ReplayHeaders.replayId]: 'rp-1' }), { runId: 'rp-1', version: 12 });
  });
});

describe('the reprocess target', () => {
  it('bills an inference request as the replay feature and restarts its latency budget, keeping its event id', async () => {
    const c = ctx({ ...request, feature: 'faq' });
    const before = Date.now();
    const out = await resolveTarget('reprocess').toRecord(source, c);
    assert.ok(out);
    const v = c.encoded[0] as typeof request & { feature: string };
    assert.equal(v.event_id, 'e-1');
    assert.equal(v.feature, 'replay');
    assert.deepEqual(v.metadata, { caller: 'faq', 'replay.original_feature': 'faq' });
    assert.ok(v.occurred_at >= before, 'the latency budget runs from the replay');
    assert.equal(out.headers[ReplayHeaders.target], 'reprocess');
  });

  it('leaves records that are no request byte for byte', async () => {
    const c = ctx({ job_id: 'j', kind: 'COMPLETION', prompt_tokens: 3 });
    const out = await resolveTarget('reprocess').toRecord(source, c);
    assert.deepEqual(out?.value, source.value);
    assert.equal(c.encoded.length, 0);
  });
});
