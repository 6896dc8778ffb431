import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decide, intentOfReasons, intentReason, type DecisionInput, type DecisionSignals } from './decision.js';
import { validatePolicy } from './parse.js';
import { TIERS, type PolicyDocumentInput, type PolicyTier, type SloClass } from './schema.js';
import { resolveRoute } from './slo.js';

/** A policy with API-priced tiers (so costs are exact): S $1/$2, M $10/$20, L $100/$200 per 1M prompt/completion tokens. */
function policy(over: Partial<PolicyDocumentInput> = {}) {
  const price = (p: number) => ({ kind: 'api' as const, usd_per_1m_prompt_tokens: p, usd_per_1m_completion_tokens: 2 * p });
  const doc: PolicyDocumentInput = {
    tiers: {
      S: { model: 's', price: price(1), prompt_template: 's@1', expected_quality: 0.5 },
      M: { model: 'm', price: price(10), prompt_template: 'm@1', expected_quality: 0.75 },
      L: { model: 'l', price: price(100), prompt_template: 'l@1', expected_quality: 0.9 },
    },
    slo_classes: {
      std: {
        p95_latency_ms: 30_000,
        max_cost_usd: 1,
        min_quality: 0.5,
        allowed_tiers: ['S', 'M', 'L'],
        rag_allowed: true,
        cache_allowed: true,
        cache_ttl_s: 60,
      },
    },
    tenants: { t: { default_route: 'qa', routes: { qa: { slo_class: 'std', template_answer: 'Please contact support.' } } } },
    classifier: { intents: [{ name: 'faq', examples: ['hi'] }], complexity_threshold: 0.4, risk_threshold: 0.5 },
    degrade: { ladder: ['shrink_context', 'lower_tier', 'serve_cache', 'serve_template'], shrink_context_max_tokens: 200 },
    ...over,
  };
  return validatePolicy(doc);
}

const signals = (over: Partial<DecisionSignals> = {}): DecisionSignals => ({
  cache: null,
  budgetRemainingUsd: null,
  budgetThrottle: 'degrade',
  capacity: {},
  safetyViolation: false,
  ...over,
});

function input(
  over: {
    slo?: Partial<SloClass>;
    request?: Partial<DecisionInput['request']>;
    signals?: Partial<DecisionSignals>;
    classification?: DecisionInput['classification'];
  } = {},
  p = policy(),
): DecisionInput {
  const route = resolveRoute(p, 't', null);
  return {
    policy: p,
    policyVersion: 7,
    route,
    slo: { ...route.sloClass, ...over.slo },
    request: { promptTokens: 100, maxTokens: 50, ragRequested: true, contextTokens: 1000, tierHint: null, ...over.request },
    classification: over.classification === undefined ? { intent: 'faq', complexity: 0.2, risk: 0.1 } : over.classification,
    signals: signals(over.signals),
  };
}

describe('decide', () => {
  it('picks the cheapest allowed tier whose expected quality meets min_quality, with RAG, and says why', () => {
    const d = decide(input({ slo: { min_quality: 0.7 } }));
    assert.equal(d.action, 'infer');
    assert.equal(d.tier, 'M');
    assert.equal(d.rag, true);
    assert.deepEqual(d.reasons, ['cheapest_tier_meeting_quality→M']);
    // (100 + 1000) prompt tokens at $10/1M + 50 completion tokens at $20/1M
    assert.ok(Math.abs(d.projectedCostUsd - (1100 * 10 + 50 * 20) / 1e6) < 1e-12);
    assert.equal(d.policyVersion, 7);
    assert.equal(d.route, 'qa');
  });

  it('takes the highest allowed tier when none is expected to meet the bar', () => {
    const d = decide(input({ slo: { min_quality: 0.95, allowed_tiers: ['S', 'M'] } }));
    assert.equal(d.tier, 'M');
    assert.deepEqual(d.reasons, ['no_tier_meets_quality→highest_allowed_M']);
  });

  it('honours an allowed tier hint and ignores one the class does not allow', () => {
    assert.equal(decide(input({ request: { tierHint: 'L' } })).tier, 'L');
    const d = decide(input({ slo: { allowed_tiers: ['S', 'M'] }, request: { tierHint: 'L' } }));
    assert.equal(d.tier, 'S');
    assert.ok(!d.reasons.some((r) => r.startsWith('tier_hint')));
  });

  it('rule 1: serves a cached answer to a simple low-risk request only when it met the quality bar', () => {
    const good = decide(input({ signals: { cache: { layer: 'semantic', tier: 'M', quality: 0.8 } } }));
    assert.equal(good.action, 'serve_cache');
    assert.equal(good.tier, 'M');
    assert.deepEqual(good.reasons, ['semantic_cache_hit_meets_quality→serve_cache']);

    const weak = decide(input({ slo: { min_quality: 0.7 }, signals: { cache: { layer: 'exact', tier: 'S', quality: 0.6 } } }));
    assert.equal(weak.action, 'infer');
    assert.equal(weak.reasons[0], 'exact_cache_hit_below_quality→skip_cache');

    const risky = decide(
      input({ classification: { intent: 'legal', complexity: 0.1, risk: 0.9 }, signals: { cache: { layer: 'exact', tier: 'L', quality: 1 } } }),
    );
    assert.equal(risky.action, 'infer');
    assert.equal(risky.reasons[0], 'risk_ge_threshold→skip_cache');

    const complex = decide(
      input({ classification: { intent: 'faq', complexity: 0.9, risk: 0 }, signals: { cache: { layer: 'exact', tier: 'L', quality: 1 } } }),
    );
    assert.equal(complex.reasons[0], 'complexity_gt_threshold→skip_cache');

    const off = decide(input({ slo: { cache_allowed: false }, signals: { cache: { layer: 'exact', tier: 'L', quality: 1 } } }));
    assert.equal(off.reasons[0], 'cache_not_allowed→skip_cache');
  });

  it('rule 2: under 800 ms there is no RAG and tier S is preferred', () => {
    const d = decide(input({ slo: { p95_latency_ms: 700, min_quality: 0.7 } }));
    assert.equal(d.rag, false);
    assert.equal(d.tier, 'S');
    assert.deepEqual(d.reasons, ['latency_budget_lt_800ms→no_rag', 'latency_budget_lt_800ms→prefer_S']);
    const noS = decide(input({ slo: { p95_latency_ms: 700, allowed_tiers: ['M', 'L'] } }));
    assert.equal(noS.tier, 'M');
    assert.equal(decide(input({ slo: { rag_allowed: false } })).reasons[0], 'rag_not_allowed→no_rag');
  });

  it('rule 3: over the cost budget it shrinks the context first, then lowers the tier', () => {
    // M with 1000 context tokens: (1100 × 10 + 50 × 20) / 1e6 = 0.012; with 200: 0.004; S with 200: 0.0004.
    const shrunk = decide(input({ slo: { min_quality: 0.7, max_cost_usd: 0.005 } }));
    assert.equal(shrunk.tier, 'M');
    assert.equal(shrunk.contextTokenBudget, 200);
    assert.deepEqual(shrunk.reasons, ['cheapest_tier_meeting_quality→M', 'projected_cost_over_budget→shrink_context']);
    assert.ok(shrunk.projectedCostUsd <= 0.005);

    const lowered = decide(input({ slo: { min_quality: 0.7, max_cost_usd: 0.001 } }));
    assert.equal(lowered.tier, 'S');
    assert.deepEqual(lowered.reasons.slice(1), ['projected_cost_over_budget→shrink_context', 'projected_cost_over_budget→lower_tier_S']);
  });

  it('rule 3: counts the remaining spend budget, and serves the cache, then the template, before refusing', () => {
    const cache = decide(
      input({
        classification: { intent: 'faq', complexity: 0.2, risk: 0 },
        slo: { min_quality: 0.7 },
        signals: { budgetRemainingUsd: 1e-7, cache: { layer: 'exact', tier: 'S', quality: 0.6 } },
      }),
    );
    assert.equal(cache.action, 'serve_cache');
    assert.equal(cache.reasons.at(-1), 'projected_cost_over_budget→serve_cache');

    const tpl = decide(input({ signals: { budgetRemainingUsd: 1e-7 } }));
    assert.equal(tpl.action, 'serve_template');
    assert.equal(tpl.reasons.at(-1), 'projected_cost_over_budget→serve_template');

    const p = policy({ degrade: { ladder: ['shrink_context', 'lower_tier'], shrink_context_max_tokens: 200 } });
    const refused = decide(input({ signals: { budgetRemainingUsd: 1e-7 } }, p));
    assert.equal(refused.action, 'refuse');
    assert.equal(refused.refusal, 'budget_exceeded');
    assert.equal(refused.reasons.at(-1), 'projected_cost_over_budget→refuse');
  });

  it('rule 3: a spent budget whose throttle is refuse refuses at once', () => {
    const d = decide(input({ signals: { budgetRemainingUsd: 0, budgetThrottle: 'refuse' } }));
    assert.equal(d.action, 'refuse');
    assert.equal(d.refusal, 'budget_exceeded');
    assert.equal(d.reasons.at(-1), 'budget_spent→refuse');
  });

  it('rule 4: reroutes to the next tier whose queue wait fits the latency budget, else queues', () => {
    const d = decide(
      input({
        slo: { p95_latency_ms: 10_000 },
        signals: { capacity: { S: { queueWaitMs: 20_000, serviceMs: 1000 }, M: { queueWaitMs: 100, serviceMs: 2000 } } },
      }),
    );
    assert.equal(d.tier, 'M');
    assert.deepEqual(d.reasons.slice(1), ['capacity_wait_over_budget_S→reroute_M']);

    const allBusy = { S: { queueWaitMs: 50_000, serviceMs: 1 }, M: { queueWaitMs: 50_000, serviceMs: 1 }, L: { queueWaitMs: 50_000, serviceMs: 1 } };
    const p = policy({ degrade: { ladder: ['shrink_context', 'lower_tier'], shrink_context_max_tokens: 200 } });
    const queued = decide(input({ slo: { p95_latency_ms: 10_000 }, signals: { capacity: allBusy } }, p));
    assert.equal(queued.action, 'infer');
    assert.equal(queued.reasons.at(-1), 'capacity_wait_over_budget_S→queue');

    const tpl = decide(input({ slo: { p95_latency_ms: 10_000 }, signals: { capacity: allBusy } }));
    assert.equal(tpl.action, 'serve_template');
    assert.equal(tpl.reasons.at(-1), 'capacity_wait_over_budget_S→serve_template');
  });

  it('rule 4 fires only on a queue: a tier with no queue is served even when its service time alone is over the budget', () => {
    const slowButIdle = { S: { queueWaitMs: 0, serviceMs: 2_000 }, M: { queueWaitMs: 0, serviceMs: 100 } };
    const d = decide(input({ slo: { p95_latency_ms: 700 }, signals: { capacity: slowButIdle } }));
    assert.equal(d.action, 'infer');
    assert.equal(d.tier, 'S');
    assert.ok(!d.reasons.some((r) => r.startsWith('capacity_')), d.reasons.join(', '));

    const slowAndQueued = { S: { queueWaitMs: 1, serviceMs: 2_000 }, M: { queueWaitMs: 0, serviceMs: 100 } };
    const q = decide(input({ slo: { p95_latency_ms: 700 }, signals: { capacity: slowAndQueued } }));
    assert.equal(q.tier, 'M');
    assert.ok(q.reasons.includes('capacity_wait_over_budget_S→reroute_M'), q.reasons.join(', '));
  });

  it('rule 0: a safety violation serves the template answer, or refuses without one', () => {
    assert.equal(decide(input({ signals: { safetyViolation: true } })).action, 'serve_template');
    const p = policy({
      tenants: { t: { default_route: 'qa', routes: { qa: { slo_class: 'std', degrade_ladder: ['lower_tier'] } } } },
    });
    const d = decide(input({ signals: { safetyViolation: true } }, p));
    assert.equal(d.action, 'refuse');
    assert.equal(d.refusal, 'safety_violation');
    assert.deepEqual(d.reasons, ['safety_violation→refuse']);
  });

  it('leaves the cost rule out, saying so, when a self-hosted price has no throughputs', () => {
    const p = policy({
      tiers: { S: { model: 's', price: { kind: 'self_hosted', usd_per_gpu_hour: 1 }, prompt_template: 's@1', expected_quality: 0.5 } },
      slo_classes: {
        std: { p95_latency_ms: 30_000, max_cost_usd: 0, min_quality: 0.5, allowed_tiers: ['S'], rag_allowed: true, cache_allowed: true, cache_ttl_s: 60 },
      },
    });
    const d = decide(input({}, p));
    assert.equal(d.action, 'infer');
    assert.ok(Number.isNaN(d.projectedCostUsd));
    assert.ok(d.reasons.includes('projected_cost_unknown→no_cost_rule'));
  });

  describe('properties over random requests and signals', () => {
    const tierArb = fc.constantFrom<PolicyTier>(...TIERS);
    const arb = fc.record({
      allowed: fc.subarray([...TIERS], { minLength: 1 }),
      latency: fc.integer({ min: 1, max: 200_000 }),
      maxCost: fc.double({ min: 0, max: 0.05, noNaN: true }),
      minQuality: fc.double({ min: 0, max: 1, noNaN: true }),
      rag: fc.boolean(),
      ragAllowed: fc.boolean(),
      cacheAllowed: fc.boolean(),
      promptTokens: fc.integer({ min: 0, max: 5000 }),
      maxTokens: fc.integer({ min: 0, max: 2000 }),
      contextTokens: fc.integer({ min: 0, max: 5000 }),
      hint: fc.option(tierArb, { nil: null }),
      cache: fc.option(
        fc.record({ layer: fc.constantFrom<'exact' | 'semantic'>('exact', 'semantic'), tier: tierArb, quality: fc.double({ min: 0, max: 1, noNaN: true }) }),
        { nil: null },
      ),
      remaining: fc.option(fc.double({ min: 0, max: 0.05, noNaN: true }), { nil: null }),
      throttle: fc.constantFrom<'degrade' | 'refuse'>('degrade', 'refuse'),
      waits: fc.record({ S: fc.integer({ min: 0, max: 300_000 }), M: fc.integer({ min: 0, max: 300_000 }), L: fc.integer({ min: 0, max: 300_000 }) }),
      safety: fc.boolean(),
      complexity: fc.double({ min: 0, max: 1, noNaN: true }),
      risk: fc.double({ min: 0, max: 1, noNaN: true }),
    });

    it('never breaks the class: allowed tiers only, no RAG where not allowed or under 800 ms, cache only where allowed, cost within budget', () => {
      fc.assert(
        fc.property(arb, (a) => {
          const d = decide(
            input({
              slo: {
                allowed_tiers: a.allowed,
                p95_latency_ms: a.latency,
                max_cost_usd: a.maxCost,
                min_quality: a.minQuality,
                rag_allowed: a.ragAllowed,
                cache_allowed: a.cacheAllowed,
              },
              request: { promptTokens: a.promptTokens, maxTokens: a.maxTokens, contextTokens: a.contextTokens, ragRequested: a.rag, tierHint: a.hint },
              classification: { intent: 'faq', complexity: a.complexity, risk: a.risk },
              signals: {
                cache: a.cache,
                budgetRemainingUsd: a.remaining,
                budgetThrottle: a.throttle,
                capacity: {
                  S: { queueWaitMs: a.waits.S, serviceMs: 0 },
                  M: { queueWaitMs: a.waits.M, serviceMs: 0 },
                  L: { queueWaitMs: a.waits.L, serviceMs: 0 },
                },
                safetyViolation: a.safety,
              },
            }),
          );
          assert.ok(d.reasons.length > 0 || d.action === 'infer', 'every non-default outcome has a reason');
          if (a.safety) assert.ok(d.action === 'serve_template' || d.action === 'refuse');
          if (d.action === 'infer') {
            assert.ok(d.tier !== null && a.allowed.includes(d.tier), `tier ${d.tier} not in ${a.allowed.join(',')}`);
            assert.ok(d.projectedCostUsd <= Math.min(a.maxCost, a.remaining ?? Infinity) + 1e-15, `cost ${d.projectedCostUsd} over budget`);
            if (d.rag) assert.ok(a.rag && a.ragAllowed && a.latency >= 800);
          }
          if (d.action === 'serve_cache') {
            assert.ok(a.cacheAllowed && a.cache !== null && a.risk < 0.5);
            assert.equal(d.tier, a.cache.tier);
          }
          if (d.action === 'refuse') assert.ok(d.refusal !== null);
          return true;
        }),
        { numRuns: 2000 },
      );
    });
  });
});

describe('intent reasons', () => {
  it('round-trips the intent through a record’s decision reasons, null when unclassified', () => {
    assert.equal(intentReason('faq'), 'intent:faq');
    assert.equal(intentOfReasons([intentReason('faq'), 'cheapest_tier_meeting_quality→S']), 'faq');
    assert.equal(intentOfReasons(['cheapest_tier_meeting_quality→S']), null);
    assert.equal(intentOfReasons([]), null);
    assert.equal(intentOfReasons(null), null);
    assert.equal(intentOfReasons(['intent:']), null);
  });
});
