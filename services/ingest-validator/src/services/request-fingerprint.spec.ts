import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requestFingerprint } from './request-fingerprint.js';
import type { JobSubmission } from './jobs.service.js';

const base: JobSubmission = {
  prompt: 'When was the lighthouse built?',
  budget: { latency_ms: 30_000, max_cost_usd: 0.05, min_quality: 0.5 },
  options: { max_tokens: 256, temperature: 0, rag: true },
  metadata: { a: '1', b: '2' },
};

describe('requestFingerprint', () => {
  it('is the same for the same request, whatever the key order, null-versus-absent optionals or idempotency key', () => {
    const reordered: JobSubmission = {
      metadata: { b: '2', a: '1' },
      options: { rag: true, temperature: 0, max_tokens: 256, tier_hint: null },
      budget: { min_quality: 0.5, max_cost_usd: 0.05, latency_ms: 30_000 },
      prompt: 'When was the lighthouse built?',
      team: null,
      system_prompt: null,
      idempotency_key: 'k1',
    };
    assert.match(requestFingerprint(base), /^[0-9a-f]{64}$/);
    assert.equal(requestFingerprint(reordered), requestFingerprint(base));
  });

  it('differs when any field of the request differs', () => {
    const fp = requestFingerprint(base);
    for (const changed of [
      { ...base, prompt: 'When was the lighthouse built? ' },
      { ...base, system_prompt: 'be brief' },
      { ...base, budget: { ...base.budget, max_cost_usd: 0.06 } },
      { ...base, options: { ...base.options, tier_hint: 'L' } },
      { ...base, team: 'search' },
      { ...base, feature: 'faq' },
      { ...base, metadata: { a: '1' } },
    ]) {
      assert.notEqual(requestFingerprint(changed), fp, JSON.stringify(changed));
    }
  });
});
