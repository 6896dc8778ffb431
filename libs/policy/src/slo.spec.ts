import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { effectiveSlo, PolicyLookupError, resolveRoute, type RequestBudget } from './slo.js';
import { TIERS, type SloClass } from './schema.js';
import { validatePolicy } from './parse.js';

const cls: SloClass = {
  p95_latency_ms: 1000,
  max_cost_usd: 0.01,
  min_quality: 0.5,
  allowed_tiers: ['S', 'M'],
  rag_allowed: true,
  cache_allowed: true,
  cache_ttl_s: 600,
};

describe('effectiveSlo: every combination of tighter, equal, looser, missing and invalid per field', () => {
  // For each field: values below, at and above the class figure, absent (undefined and null), and values that are not
  // budgets. `expect` is the effective figure and whether the request tightened it.
  const latencyCases: [number | null | undefined, number, boolean][] = [
    [400, 400, true],
    [1000, 1000, false],
    [5000, 1000, false],
    [0, 0, true],
    [undefined, 1000, false],
    [null, 1000, false],
    [Number.NaN, 1000, false],
    [-1, 1000, false],
    [Number.POSITIVE_INFINITY, 1000, false],
  ];
  const costCases: [number | null | undefined, number, boolean][] = [
    [0.001, 0.001, true],
    [0.01, 0.01, false],
    [1, 0.01, false],
    [0, 0, true],
    [undefined, 0.01, false],
    [null, 0.01, false],
    [Number.NaN, 0.01, false],
    [-0.5, 0.01, false],
  ];
  const qualityCases: [number | null | undefined, number, boolean][] = [
    [0.9, 0.9, true],
    [0.5, 0.5, false],
    [0.1, 0.5, false],
    [1, 1, true],
    [undefined, 0.5, false],
    [null, 0.5, false],
    [1.01, 0.5, false],
    [-0.2, 0.5, false],
    [Number.NaN, 0.5, false],
  ];
  const isInvalid = (v: number | null | undefined, max = Infinity) => typeof v === 'number' && (!Number.isFinite(v) || v < 0 || v > max);

  it(`gives the right figure for all ${latencyCases.length * costCases.length * qualityCases.length} combinations`, () => {
    for (const [latency, expLatency, tightLatency] of latencyCases)
      for (const [cost, expCost, tightCost] of costCases)
        for (const [quality, expQuality, tightQuality] of qualityCases) {
          const request: RequestBudget = { latency_ms: latency, max_cost_usd: cost, min_quality: quality };
          const what = JSON.stringify(request, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
          const r = effectiveSlo(cls, request);
          assert.deepEqual([r.slo.p95_latency_ms, r.slo.max_cost_usd, r.slo.min_quality], [expLatency, expCost, expQuality], what);
          const tightened = [tightLatency && 'p95_latency_ms', tightCost && 'max_cost_usd', tightQuality && 'min_quality'].filter(Boolean);
          assert.deepEqual(r.tightened, tightened, what);
          const ignored = [isInvalid(latency) && 'latency_ms', isInvalid(cost) && 'max_cost_usd', isInvalid(quality, 1) && 'min_quality'].filter(Boolean);
          assert.deepEqual(
            r.ignored.map((i) => i.field),
            ignored,
            what,
          );
          // What the request cannot touch stays the class's.
          assert.deepEqual([r.slo.allowed_tiers, r.slo.rag_allowed, r.slo.cache_allowed, r.slo.cache_ttl_s], [['S', 'M'], true, true, 600], what);
        }
  });

  it('reads a negative zero as zero, so budgets of 0 and -0 in either order give the same SLO', () => {
    const c = { ...cls, p95_latency_ms: 1, max_cost_usd: 1 };
    const { slo } = effectiveSlo(c, { latency_ms: -0, max_cost_usd: -0 });
    assert.ok(Object.is(slo.p95_latency_ms, 0) && Object.is(slo.max_cost_usd, 0), `${Object.is(slo.p95_latency_ms, -0)}`);
    assert.deepEqual(
      effectiveSlo(effectiveSlo(c, { latency_ms: 0 }).slo, { latency_ms: -0 }).slo,
      effectiveSlo(effectiveSlo(c, { latency_ms: -0 }).slo, { latency_ms: 0 }).slo,
    );
  });

  it('takes the class as it is for a request with no budget, and never modifies the class', () => {
    const before = structuredClone(cls);
    for (const request of [undefined, null, {}]) {
      const r = effectiveSlo(cls, request);
      assert.deepEqual(r.slo, cls);
      assert.notEqual(r.slo, cls);
      assert.notEqual(r.slo.allowed_tiers, cls.allowed_tiers);
      assert.deepEqual([r.tightened, r.ignored], [[], []]);
    }
    effectiveSlo(cls, { latency_ms: 1, max_cost_usd: 0, min_quality: 1 }).slo.allowed_tiers.push('L');
    assert.deepEqual(cls, before);
  });
});

describe('effectiveSlo properties (fast-check)', () => {
  const sloClass = fc.record({
    p95_latency_ms: fc.integer({ min: 1, max: 3_600_000 }),
    max_cost_usd: fc.double({ min: 0, max: 100, noNaN: true }),
    min_quality: fc.double({ min: 0, max: 1, noNaN: true }),
    allowed_tiers: fc.uniqueArray(fc.constantFrom(...TIERS), { minLength: 1 }),
    rag_allowed: fc.boolean(),
    cache_allowed: fc.boolean(),
    cache_ttl_s: fc.integer({ min: 0, max: 86_400 }),
  });
  // Anything a request may carry: good numbers, edge numbers, NaN, infinities, negatives, null, nothing.
  const anyNumber = fc.oneof(fc.double(), fc.integer({ min: -10, max: 10_000_000 }), fc.constant(null), fc.constant(undefined));
  const requestBudget = fc.record({ latency_ms: anyNumber, max_cost_usd: anyNumber, min_quality: anyNumber }, { requiredKeys: [] });

  it('never loosens the class: latency and cost only go down, quality only up, the rest never changes', () => {
    fc.assert(
      fc.property(sloClass, requestBudget, (c, req) => {
        const { slo } = effectiveSlo(c, req);
        assert.ok(slo.p95_latency_ms <= c.p95_latency_ms);
        assert.ok(slo.max_cost_usd <= c.max_cost_usd);
        assert.ok(slo.min_quality >= c.min_quality);
        assert.ok(Number.isFinite(slo.p95_latency_ms) && slo.p95_latency_ms >= 0);
        assert.ok(Number.isFinite(slo.max_cost_usd) && slo.max_cost_usd >= 0);
        assert.ok(slo.min_quality >= 0 && slo.min_quality <= 1);
        assert.deepEqual(
          [slo.allowed_tiers, slo.rag_allowed, slo.cache_allowed, slo.cache_ttl_s],
          [c.allowed_tiers, c.rag_allowed, c.cache_allowed, c.cache_ttl_s],
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('is exactly the stricter of the two for every valid request figure', () => {
    const valid = fc.record({
      latency_ms: fc.integer({ min: 0, max: 10_000_000 }),
      max_cost_usd: fc.double({ min: 0, max: 1000, noNaN: true }),
      min_quality: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(sloClass, valid, (c, req) => {
        const r = effectiveSlo(c, req);
        assert.equal(r.slo.p95_latency_ms, Math.min(c.p95_latency_ms, req.latency_ms));
        assert.equal(r.slo.max_cost_usd, Math.min(c.max_cost_usd, req.max_cost_usd));
        assert.equal(r.slo.min_quality, Math.max(c.min_quality, req.min_quality));
        assert.deepEqual(r.ignored, []);
        assert.equal(r.tightened.includes('p95_latency_ms'), req.latency_ms < c.p95_latency_ms);
        assert.equal(r.tightened.includes('max_cost_usd'), req.max_cost_usd < c.max_cost_usd);
        assert.equal(r.tightened.includes('min_quality'), req.min_quality > c.min_quality);
      }),
      { numRuns: 2000 },
    );
  });

  it('is idempotent and order-free: applying the same budget twice, or two budgets in either order, gives the same SLO', () => {
    fc.assert(
      fc.property(sloClass, requestBudget, requestBudget, (c, a, b) => {
        const once = effectiveSlo(c, a).slo;
        assert.deepEqual(effectiveSlo(once, a).slo, once);
        assert.deepEqual(effectiveSlo(effectiveSlo(c, a).slo, b).slo, effectiveSlo(effectiveSlo(c, b).slo, a).slo);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('resolveRoute', () => {
  const policy = validatePolicy({
    tiers: { S: { model: 's', price: { kind: 'api', usd_per_1m_prompt_tokens: 1, usd_per_1m_completion_tokens: 1 }, prompt_template: 'p@1' } },
    slo_classes: {
      fast: { ...cls, allowed_tiers: ['S'] },
      slow: { ...cls, allowed_tiers: ['S'], p95_latency_ms: 9000 },
    },
    tenants: { t1: { default_route: 'faq', routes: { faq: { slo_class: 'fast' }, qa: { slo_class: 'slow' } } } },
    classifier: { intents: [{ name: 'x', examples: ['x'] }], complexity_threshold: 0.5, risk_threshold: 0.5 },
    degrade: { ladder: ['lower_tier'], shrink_context_max_tokens: 10 },
  });

  it("uses the named route, or the tenant's default when the request names none", () => {
    const named = resolveRoute(policy, 't1', 'qa');
    assert.deepEqual([named.routeName, named.defaulted, named.sloClassName, named.sloClass.p95_latency_ms], ['qa', false, 'slow', 9000]);
    for (const none of [undefined, null, '']) {
      const d = resolveRoute(policy, 't1', none);
      assert.deepEqual([d.routeName, d.defaulted, d.sloClassName], ['faq', true, 'fast']);
    }
  });

  it('refuses an unknown tenant or route (never falls back to the default for a misspelt route)', () => {
    assert.throws(
      () => resolveRoute(policy, 't2'),
      (e: unknown) => e instanceof PolicyLookupError && e.code === 'unknown_tenant',
    );
    assert.throws(
      () => resolveRoute(policy, 't1', 'fqa'),
      (e: unknown) => e instanceof PolicyLookupError && e.code === 'unknown_route',
    );
    // Names of Object.prototype members are not routes or tenants.
    assert.throws(
      () => resolveRoute(policy, 'constructor'),
      (e: unknown) => e instanceof PolicyLookupError && e.code === 'unknown_tenant',
    );
    assert.throws(
      () => resolveRoute(policy, 't1', 'toString'),
      (e: unknown) => e instanceof PolicyLookupError && e.code === 'unknown_route',
    );
  });
});
