import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { capacitySignals, estimateTierCapacity, tierCapacityReportSchema, type TierCapacityReport } from './capacity.js';
import { decide } from './decision.js';
import { validatePolicy } from './parse.js';
import { resolveRoute } from './slo.js';

const NOW = 1_800_000_000_000;

const report = (over: Partial<TierCapacityReport> = {}): TierCapacityReport => ({
  tier: 'S',
  instance: 'w1',
  saturation: 0.2,
  paused: false,
  lag: 0,
  service_rate_per_s: 2,
  service_ms: 1500,
  slots: 4,
  inflight: 0,
  published_at: NOW - 200,
  ...over,
});

describe('estimateTierCapacity', () => {
  it('has no estimate without a report, or with only stale reports or reports of other tiers', () => {
    assert.equal(estimateTierCapacity('S', [], NOW), undefined);
    assert.equal(estimateTierCapacity('S', [report({ published_at: NOW - 5_001 })], NOW, 5_000), undefined);
    assert.equal(estimateTierCapacity('S', [report({ tier: 'M' })], NOW), undefined);
    // A fresh report beside a stale one: only the fresh one counts.
    const e = estimateTierCapacity('S', [report({ published_at: NOW - 60_000, lag: 1000 }), report({ instance: 'w2', lag: 3 })], NOW, 5_000);
    assert.equal(e?.instances, 1);
    assert.equal(e?.lag, 3);
  });

  it('waits 0 while a slot is free and the tier is not paused', () => {
    const e = estimateTierCapacity('S', [report({ lag: 3, slots: 4 })], NOW)!;
    assert.deepEqual([e.recordsAhead, e.queueWaitMs, e.basis], [0, 0, 'free_slot']);
  });

  it('waits (records ahead) / (service rate): L + 1 − C records at μ per second', () => {
    // lag 13, 4 slots: 10 records must finish before the new one starts; at 2/s that is 5 s.
    const e = estimateTierCapacity('S', [report({ lag: 13, slots: 4, service_rate_per_s: 2 })], NOW)!;
    assert.deepEqual([e.recordsAhead, e.queueWaitMs, e.basis], [10, 5_000, 'lag_over_rate']);
  });

  it('counts every record ahead when the tier is paused (nothing is fetched until it resumes)', () => {
    const e = estimateTierCapacity('S', [report({ lag: 3, slots: 4, paused: true, service_rate_per_s: 0.5 })], NOW)!;
    assert.deepEqual([e.recordsAhead, e.queueWaitMs, e.paused], [4, 8_000, true]);
  });

  it('without a measured rate, uses slots / service time, else Infinity when paused and 0 when not', () => {
    const bySlots = estimateTierCapacity('S', [report({ lag: 9, slots: 2, service_rate_per_s: null, service_ms: 1000 })], NOW)!;
    assert.deepEqual([bySlots.queueWaitMs, bySlots.basis], [4_000, 'lag_over_slots_per_service_time']); // 8 ahead × 1000 ms / 2 slots
    const stuck = estimateTierCapacity('S', [report({ lag: 9, slots: 2, paused: true, service_rate_per_s: null, service_ms: null })], NOW)!;
    assert.deepEqual([stuck.queueWaitMs, stuck.basis], [Infinity, 'paused_without_rate']);
    const unknown = estimateTierCapacity('S', [report({ lag: 9, slots: 2, service_rate_per_s: null, service_ms: null })], NOW)!;
    assert.deepEqual([unknown.queueWaitMs, unknown.basis], [0, 'unknown_rate']);
  });

  it('aggregates instances: the group lag once (max), slots and rates summed, service time rate-weighted, paused if any', () => {
    const e = estimateTierCapacity(
      'S',
      [
        report({ instance: 'a', lag: 20, slots: 2, service_rate_per_s: 1, service_ms: 1000, saturation: 0.9, paused: true }),
        report({ instance: 'b', lag: 18, slots: 3, service_rate_per_s: 3, service_ms: 2000, saturation: 0.4 }),
      ],
      NOW,
    )!;
    assert.equal(e.lag, 20);
    assert.equal(e.slots, 5);
    assert.equal(e.serviceRatePerS, 4);
    assert.equal(e.serviceMs, (1000 * 1 + 2000 * 3) / 4);
    assert.equal(e.saturation, 0.9);
    assert.equal(e.paused, true);
    assert.equal(e.queueWaitMs, (1000 * 21) / 4);
  });

  it('treats an unknown lag as 0', () => {
    const e = estimateTierCapacity('S', [report({ lag: null, slots: 1 })], NOW)!;
    assert.deepEqual([e.lag, e.queueWaitMs], [null, 0]);
  });

  it('never gives a negative or NaN wait, and the wait never falls when the lag grows (property)', () => {
    const arb = fc.record({
      lag: fc.option(fc.integer({ min: 0, max: 100_000 })),
      slots: fc.integer({ min: 0, max: 64 }),
      rate: fc.option(fc.double({ min: 0, max: 1000, noNaN: true })),
      service: fc.option(fc.double({ min: 0, max: 600_000, noNaN: true })),
      paused: fc.boolean(),
      more: fc.integer({ min: 0, max: 1000 }),
    });
    fc.assert(
      fc.property(arb, ({ lag, slots, rate, service, paused, more }) => {
        const r = report({ lag, slots, service_rate_per_s: rate, service_ms: service, paused });
        const a = estimateTierCapacity('S', [r], NOW)!;
        const b = estimateTierCapacity('S', [{ ...r, lag: (lag ?? 0) + more }], NOW)!;
        assert.ok(a.queueWaitMs >= 0 && !Number.isNaN(a.queueWaitMs));
        assert.ok(b.queueWaitMs >= a.queueWaitMs);
      }),
    );
  });

  it('the report schema refuses a malformed report', () => {
    assert.equal(tierCapacityReportSchema.safeParse(report()).success, true);
    assert.equal(tierCapacityReportSchema.safeParse({ ...report(), saturation: 2 }).success, false);
    assert.equal(tierCapacityReportSchema.safeParse({ ...report(), tier: 'XL' }).success, false);
    assert.equal(tierCapacityReportSchema.safeParse({ ...report(), lag: -1 }).success, false);
  });
});

describe('capacitySignals into decide()', () => {
  const doc = validatePolicy({
    tiers: {
      S: { model: 's', price: { kind: 'api', usd_per_1m_prompt_tokens: 1, usd_per_1m_completion_tokens: 2 }, prompt_template: 's@1', expected_quality: 0.5 },
      M: { model: 'm', price: { kind: 'api', usd_per_1m_prompt_tokens: 10, usd_per_1m_completion_tokens: 20 }, prompt_template: 'm@1', expected_quality: 0.75 },
    },
    slo_classes: {
      std: { p95_latency_ms: 30_000, max_cost_usd: 1, min_quality: 0.5, allowed_tiers: ['S', 'M'], rag_allowed: false, cache_allowed: false, cache_ttl_s: 0 },
    },
    tenants: { t: { default_route: 'qa', routes: { qa: { slo_class: 'std', template_answer: 'later' } } } },
    classifier: { intents: [{ name: 'faq', examples: ['hi'] }], complexity_threshold: 0.4, risk_threshold: 0.5 },
    degrade: { ladder: ['lower_tier', 'serve_template'], shrink_context_max_tokens: 200 },
  });
  const route = resolveRoute(doc, 't', null);
  const run = (reports: TierCapacityReport[]) =>
    decide({
      policy: doc,
      policyVersion: 1,
      route,
      slo: doc.slo_classes.std!,
      request: { promptTokens: 10, maxTokens: 10, ragRequested: false, contextTokens: 0, tierHint: null },
      classification: null,
      signals: { cache: null, budgetRemainingUsd: null, budgetThrottle: 'degrade', capacity: capacitySignals(reports, NOW), safetyViolation: false },
    });

  it('leaves out tiers without a fresh signal, and gives service time 0 when none was measured', () => {
    assert.deepEqual(capacitySignals([report({ tier: 'M', service_ms: null, service_rate_per_s: null })], NOW), { M: { queueWaitMs: 0, serviceMs: 0 } });
    assert.deepEqual(capacitySignals([report({ published_at: NOW - 10 * 60_000 })], NOW), {});
  });

  it('a saturated S (paused, 100 records at 0.5/s) reroutes to M; a stale one does not', () => {
    const saturatedS = report({ paused: true, saturation: 1, lag: 100, service_rate_per_s: 0.5 });
    const d = run([saturatedS, report({ tier: 'M', lag: 0 })]);
    assert.equal(d.tier, 'M');
    assert.ok(d.reasons.includes('capacity_wait_over_budget_S→reroute_M'), d.reasons.join(', '));
    const stale = run([{ ...saturatedS, published_at: NOW - 60_000 }]);
    assert.equal(stale.tier, 'S');
  });
});
