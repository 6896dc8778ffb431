import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkGate, describeGateFailures, type GateFigures } from './gates.js';
import { gateSchema, validatePolicy } from './index.js';

const base: GateFigures = { exact_match: 0.6, f1: 0.7, judge_pass_rate: 0.8, hallucination_rate: 0.05 };

describe('regression gates', () => {
  it('allows a drop up to the tolerance and refuses one beyond it', () => {
    const gate = gateSchema.parse({ golden: 'squad-50' });
    assert.equal(gate.max_f1_drop, 0.02);
    assert.equal(checkGate(gate, base, { ...base, f1: 0.68 }).passed, true);
    const out = checkGate(gate, base, { ...base, f1: 0.67 });
    assert.equal(out.passed, false);
    assert.deepEqual(describeGateFailures(out), ['f1 0.700 → 0.670 (drop 0.030 > allowed 0.020)']);
  });

  it('checks only the tolerances declared, the hallucination rate as a rise', () => {
    const gate = gateSchema.parse({ golden: 'g', max_f1_drop: 0.5, max_hallucination_rate_increase: 0.01 });
    const out = checkGate(gate, base, { ...base, exact_match: 0, judge_pass_rate: 0, hallucination_rate: 0.07 });
    assert.deepEqual(
      out.checks.map((c) => [c.metric, c.passed]),
      [
        ['f1', true],
        ['hallucination_rate', false],
      ],
    );
    // An improvement never fails.
    assert.equal(checkGate(gate, base, { ...base, f1: 0.9, hallucination_rate: 0 }).passed, true);
  });

  it('fails a check without evidence (NaN on either side)', () => {
    const gate = gateSchema.parse({ golden: 'g', max_exact_match_drop: 0.1 });
    assert.equal(checkGate(gate, base, { ...base, exact_match: NaN }).passed, false);
    assert.equal(checkGate(gate, { ...base, f1: NaN }, base).passed, false);
  });

  it('the policy schema refuses a gate declared twice on one golden set and a tolerance outside 0..1', () => {
    const doc = {
      tiers: { S: { model: 'small', price: { kind: 'api', usd_per_1m_prompt_tokens: 0.1, usd_per_1m_completion_tokens: 0.4 }, prompt_template: 'chat@1' } },
      slo_classes: {
        fast: { p95_latency_ms: 500, max_cost_usd: 0.001, min_quality: 0.2, allowed_tiers: ['S'], rag_allowed: false, cache_allowed: true, cache_ttl_s: 60 },
      },
      tenants: { t1: { default_route: 'faq', routes: { faq: { slo_class: 'fast' } } } },
      classifier: { intents: [{ name: 'faq', examples: ['how do I log in?'] }], complexity_threshold: 0.5, risk_threshold: 0.5 },
      degrade: { ladder: ['serve_cache'], shrink_context_max_tokens: 128 },
    };
    assert.equal(validatePolicy({ ...doc, gates: [{ golden: 'g' }] }, 'x').gates?.[0]?.max_f1_drop, 0.02);
    assert.throws(() => validatePolicy({ ...doc, gates: [{ golden: 'g' }, { golden: 'g' }] }, 'x'), /declared twice/);
    assert.throws(() => validatePolicy({ ...doc, gates: [{ golden: 'g', max_f1_drop: 2 }] }, 'x'));
  });
});
