import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@llmgov/platform';
import { parsePolicyText } from '@llmgov/policy';
import { armFigures, escalationsOf, pairedF1Difference, servedBy, targetCheck, type ArmFigures, type RequestOutcome } from './report.js';

const file = path.join(repoRoot(), 'infra/policies/local.yaml');
const policy = parsePolicyText(readFileSync(file, 'utf8'), file);

const req = (o: Partial<RequestOutcome>): RequestOutcome => ({
  intent: 'default',
  expected_answers: ['Denver Broncos'],
  status: 'completed',
  answer: 'Denver Broncos',
  verdict: 'PASS',
  cost_usd: 0.001,
  latency_ms: 1000,
  tenant: 'tenant-a',
  team: 'qa',
  route: 'squad-qa',
  max_cost_usd: 0.05,
  tier: 'M',
  finish_reason: 'stop',
  decision_reasons: [],
  false_cache_hit: false,
  question_id: 'q1',
  ...o,
});

describe('governance bench figures', () => {
  it('cost per 1K divides by every request; F1 counts a request that did not complete as 0', () => {
    const f = armFigures([req({}), req({ status: 'failed', answer: null, verdict: null, cost_usd: null, latency_ms: null })], policy);
    assert.equal(f.requests, 2);
    assert.ok(Math.abs(f.cost_per_1k_usd - 0.5) < 1e-12);
    assert.equal(f.quality.f1_mean, 0.5);
    assert.equal(f.quality.exact_match, 0.5);
  });

  it('a hallucination is a non-PASS verdict on a wrong answer; kappa compares PASS with F1 >= 0.5', () => {
    const f = armFigures(
      [req({}), req({ answer: 'Carolina Panthers', verdict: 'FALLBACK' }), req({ answer: 'Carolina Panthers', verdict: 'PASS' }), req({ verdict: 'FALLBACK' })],
      policy,
    );
    assert.equal(f.hallucination_rate, 0.25);
    assert.equal(f.judge.pass_rate, 0.5);
    // 1 TP, 1 FP, 1 FN, 1 TN: p_o 0.5, p_e 0.5 → kappa 0.
    assert.equal(f.judge.kappa_vs_gold, 0);
    assert.equal(f.judge.precision_pass, 0.5);
  });

  it('cache hits by layer, false hits, and the share served by S or a cache', () => {
    const f = armFigures(
      [
        req({ tier: 'S' }),
        req({ decision_reasons: ['exact_cache_hit_meets_quality→serve_cache'] }),
        req({ decision_reasons: ['semantic_cache_hit_meets_quality→serve_cache'], false_cache_hit: true }),
        req({ finish_reason: 'template', tier: null }),
      ],
      policy,
    );
    assert.deepEqual({ ...f.cache }, { hits: 2, exact: 1, semantic: 1, hit_rate: 0.5, false_hits: 1, false_hit_rate: 0.5 });
    assert.equal(f.share_s_or_cache, 0.75);
    assert.deepEqual(f.served_by, { S: 1, cache: 2, template: 1 });
    assert.deepEqual(f.quality_by_served.S, { n: 1, f1_mean: 1, exact_match: 1, correct_share: 1 });
    assert.equal(f.quality_by_served.template!.n, 1);
  });

  it('overshoot: above a request’s max_cost_usd, and above a budget of the policy for its scope', () => {
    const f = armFigures([req({ cost_usd: 0.07, max_cost_usd: 0.05 })], policy);
    assert.ok(Math.abs(f.budget.request_overshoot_usd - 0.02) < 1e-12);
    assert.equal(f.budget.scope_overshoot_usd, 0);
    const dayLimit = policy.budgets.find((b) => b.tenant === 'tenant-b' && b.period === 'day' && !b.route && !b.team)!.limit_usd;
    const g = armFigures([req({ tenant: 'tenant-b', cost_usd: dayLimit + 0.5, max_cost_usd: 100 })], policy);
    // Above tenant-b's day budget by 0.5, and within its month budget.
    assert.ok(Math.abs(g.budget.scope_overshoot_usd - 0.5) < 1e-9, String(g.budget.scope_overshoot_usd));
  });

  it('an SLO violation is a request that did not complete or took longer than its class’s p95 budget', () => {
    const fast = policy.slo_classes[policy.tenants['tenant-a']!.routes['support-faq']!.slo_class]!.p95_latency_ms;
    const f = armFigures(
      [
        req({ route: 'support-faq', latency_ms: fast + 1 }),
        req({ route: 'support-faq', latency_ms: fast }),
        req({ status: 'expired', answer: null, latency_ms: null }),
        req({}),
      ],
      policy,
    );
    assert.equal(f.slo.violations, 2);
    assert.equal(f.slo.by_class.fast!.violations, 1);
  });

  it('servedBy and escalationsOf read the job result', () => {
    assert.equal(servedBy(req({ status: 'failed' })), 'failed');
    assert.equal(servedBy(req({ tier: 'L' })), 'L');
    assert.equal(escalationsOf(req({ decision_reasons: ['tiers_tried:S,M'] })), 1);
    assert.equal(escalationsOf(req({ decision_reasons: ['tiers_tried:S'] })), 0);
    assert.equal(escalationsOf(req({})), 0);
  });

  it('targetCheck needs all four conditions', () => {
    const base = armFigures([req({ cost_usd: 0.01 }), req({ cost_usd: 0.01, answer: 'x', verdict: 'FALLBACK' })], policy);
    const good: ArmFigures = { ...base, cost_per_1k_usd: base.cost_per_1k_usd * 0.5, hallucination_rate: 0 };
    assert.equal(targetCheck(base, good).met, true);
    assert.equal(targetCheck(base, { ...good, cost_per_1k_usd: base.cost_per_1k_usd * 0.7 }).met, false);
    assert.equal(targetCheck(base, { ...good, quality: { ...good.quality, f1_mean: base.quality.f1_mean - 0.03 } }).met, false);
    assert.equal(targetCheck(base, { ...good, hallucination_rate: base.hallucination_rate }).met, false);
    assert.equal(targetCheck(base, { ...good, budget: { ...good.budget, overshoot_usd: 0.001 } }).met, false);
  });

  it('pairedF1Difference: the mean difference, and an interval that is wide when one question carries it', () => {
    const base = [req({ question_id: 'a' }), req({ question_id: 'a' }), req({ question_id: 'b' }), req({ question_id: 'c' })];
    const same = pairedF1Difference(base, base, 200);
    assert.equal(same.mean, 0);
    assert.deepEqual(same.ci95, [0, 0]);
    assert.equal(same.questions, 3);
    const worse = base.map((b) => (b.question_id === 'a' ? { ...b, answer: 'wrong' } : b));
    const d = pairedF1Difference(base, worse, 500);
    assert.equal(d.mean, -0.5);
    assert.ok(d.ci95[0] <= -0.5 && d.ci95[1] >= -0.5 && d.ci95[1] - d.ci95[0] > 0.3, JSON.stringify(d.ci95));
    assert.throws(() => pairedF1Difference(base, base.slice(1)), RangeError);
  });
});
