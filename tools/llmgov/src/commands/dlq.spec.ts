import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import type { ReplayPriceCatalog } from '@llmgov/replay';
import { REDRIVE_COST_METHOD, estimateRedriveCost, formatRedriveCost, parseCause, parseRate, parseSince } from './dlq.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');

test('--since takes an ISO 8601 time or a duration back from now', () => {
  assert.equal(parseSince('2026-11-29T10:00:00Z', NOW), Date.parse('2026-11-29T10:00:00Z'));
  assert.equal(parseSince('2026-11-29', NOW), Date.parse('2026-11-29'));
  assert.equal(parseSince('30m', NOW), NOW - 30 * 60_000);
  assert.equal(parseSince('2h', NOW), NOW - 2 * 3_600_000);
  assert.equal(parseSince('7d', NOW), NOW - 7 * 86_400_000);
  for (const bad of ['yesterday', '', '2h ago', '-5m', '1e3s', '2026-13-45', '2026-11-29T25:00:00Z', '2027-01-01', '1999-12-31', 'Infinity', '1'.repeat(400)]) {
    assert.throws(() => parseSince(bad, NOW), InvalidArgumentError, bad);
  }
});

test('--rate takes N or N/s in (0, 10000]', () => {
  assert.equal(parseRate('50'), 50);
  assert.equal(parseRate('20/s'), 20);
  assert.equal(parseRate('0.5/s'), 0.5);
  for (const bad of ['0', '-1', '1e9', '10001', 'fast', '5/m', '', 'NaN']) assert.throws(() => parseRate(bad), InvalidArgumentError, bad);
});

test('--cause takes one of the cause classes only', () => {
  assert.equal(parseCause('dependency'), 'dependency');
  for (const bad of ['Dependency', '__proto__', 'constructor', '', 'x'.repeat(1000)]) {
    assert.throws(
      () => parseCause(bad),
      (e: unknown) => e instanceof InvalidArgumentError && /expected one of schema, validation/.test(e.message),
      bad,
    );
  }
});

// Prices chosen so every figure is worked out by hand: 1 USD per 1M input tokens and 2 per 1M output tokens (default),
// 10 and 20 for the listed API model, 3600 USD per GPU-hour (1 USD per GPU-second) for the self-hosted one.
const CATALOG: ReplayPriceCatalog = {
  version: 'test-v1',
  models: {
    'api-model': { kind: 'api', input_per_1m_tokens: 10, output_per_1m_tokens: 20 },
    'gpu-model': { kind: 'self_hosted', usd_per_gpu_hour: 3600 },
  },
  default: { kind: 'api', input_per_1m_tokens: 1, output_per_1m_tokens: 2 },
};
/** One token per space-separated word: the counts below are readable. */
const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
const decoded = (value: unknown) => ({ decoded: true as const, schema_id: 1, value });

test('the redrive estimate: requests at the worst case the router reserves, usage records as billed, undecodable at 0', () => {
  const values = [
    // No model yet: the default price; (2 + 3) prompt tokens x 1 + 10 max_tokens x 2 = 25 micro-USD.
    decoded({ prompt: 'one two three', system_prompt: 'be brief', options: { max_tokens: 10 } }),
    // Its own per-token price: 4 x 10 + 5 x 20 = 140 micro-USD.
    decoded({ prompt: 'a b c d', model: 'api-model', options: { max_tokens: 5 } }),
    // A self-hosted model is priced at the default before the call (GPU time is known only after): 1 x 1 + 1 x 2 = 3.
    decoded({ prompt: 'hi', model: 'gpu-model', options: { max_tokens: 1 } }),
    // A usage record, as billed: 0.5 GPU-second at 1 USD per GPU-second = 500 000 micro-USD.
    decoded({ kind: 'completion', model: 'gpu-model', prompt_tokens: 100, completion_tokens: 7, gpu_seconds: 0.5 }),
    // Feedback makes no model call.
    decoded({ event_id: 'e', rating: 1 }),
    { decoded: false as const, reason: 'unknown magic byte', base64: 'eA==', bytes: 1 },
  ];
  const c = estimateRedriveCost(values, CATALOG, words);
  assert.equal(c.micro_usd, 25 + 140 + 3 + 500_000);
  assert.equal(c.usd, 0.500168);
  assert.equal(c.price_catalog_version, 'test-v1');
  assert.deepEqual(c.records_by_basis, { request_worst_case: 3, usage_as_billed: 1, no_model_call: 1 });
  assert.deepEqual(c.records_by_price, { default: 2, 'api-model': 1, 'gpu-model': 1 });
  assert.equal(c.undecodable, 1);
  assert.equal(c.method, REDRIVE_COST_METHOD);

  const text = formatRedriveCost(c);
  assert.match(text, /^estimated cost: 0\.500168 USD \(price catalog test-v1; request_worst_case 3, usage_as_billed 1, no_model_call 1, undecodable 1\)\n/);
  assert.match(text, /\n {2}how: the estimate of llmgov replay --dry-run/);
});

test('the redrive estimate of nothing is 0 and says so', () => {
  const c = estimateRedriveCost([], CATALOG, words);
  assert.deepEqual(
    { ...c, method: '' },
    {
      usd: 0,
      micro_usd: 0,
      price_catalog_version: 'test-v1',
      records_by_basis: {},
      records_by_price: {},
      undecodable: 0,
      method: '',
    },
  );
  assert.match(formatRedriveCost(c), /^estimated cost: 0\.000000 USD \(price catalog test-v1; no records\)/);
});
