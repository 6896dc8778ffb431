import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateEval, isHallucination, percentile, type ItemOutcome } from './eval-metrics.js';

const item = (o: Partial<ItemOutcome>): ItemOutcome => ({
  intent: 'qa',
  expected_answers: ['Denver Broncos'],
  status: 'completed',
  answer: 'the Denver Broncos',
  verdict: 'PASS',
  cost_usd: 0.001,
  latency_ms: 100,
  ...o,
});

describe('eval metrics', () => {
  it('a hallucination is a non-PASS verdict confirmed wrong against gold (F1 < 0.5); unjudged items never count', () => {
    assert.equal(isHallucination('FALLBACK', 0.2), true);
    assert.equal(isHallucination('FALLBACK', 0.5), false); // judge false alarm: gold agrees with the answer
    assert.equal(isHallucination('PASS', 0), false);
    assert.equal(isHallucination(null, 0), false);
  });

  it('nearest-rank percentile', () => {
    assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 100], 95), 19);
    assert.equal(percentile([7], 95), 7);
    assert.ok(Number.isNaN(percentile([], 95)));
  });

  it('aggregates per intent and overall: failures score 0, rates over judged items, cost per 1k, p95 over completed', () => {
    const r = aggregateEval([
      item({}),
      item({ answer: 'Carolina Panthers', verdict: 'FALLBACK', latency_ms: 300 }),
      item({ status: 'failed', answer: null, verdict: null, cost_usd: null, latency_ms: null }),
      item({ intent: null, answer: 'Broncos', verdict: 'FALLBACK', cost_usd: 0.003, latency_ms: 50 }),
    ]);
    const qa = r.by_intent.qa!;
    assert.equal(qa.n, 3);
    assert.equal(qa.completed, 2);
    assert.equal(qa.exact_match, 1 / 3);
    assert.equal(qa.judged, 2);
    assert.equal(qa.judge_pass_rate, 0.5);
    assert.equal(qa.hallucination_rate, 0.5);
    assert.equal(qa.latency_p95_ms, 300);
    assert.ok(Math.abs(qa.cost_per_1k_usd - (0.002 / 3) * 1000) < 1e-12);
    // "Broncos" vs "Denver Broncos": F1 2/3 ≥ 0.5, so the FALLBACK is not a hallucination.
    assert.equal(r.by_intent['-']!.hallucination_rate, 0);
    assert.equal(r.overall.n, 4);
    assert.equal(r.overall.hallucination_rate, 1 / 3);
    assert.ok(Math.abs(r.overall.f1 - (1 + 0 + 0 + 2 / 3) / 4) < 1e-12);
    assert.deepEqual(Object.keys(r.by_intent), ['-', 'qa']);
  });

  it('empty input gives NaN rates, not a division error', () => {
    const r = aggregateEval([]);
    assert.equal(r.overall.n, 0);
    assert.ok(Number.isNaN(r.overall.f1) && Number.isNaN(r.overall.judge_pass_rate) && Number.isNaN(r.overall.latency_p95_ms));
  });
});
