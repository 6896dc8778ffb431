import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PolicyValidationError, parsePolicyText, validatePolicy } from './parse.js';
import type { PolicyDocumentInput } from './schema.js';
import { sha256OfJson } from './canonical.js';
import { policyJsonSchema } from './json-schema.js';
import { policyLlmSampleRate } from './judge.js';

/** A valid document with two routes; tests add the judge settings they exercise. */
function doc(extra: Partial<PolicyDocumentInput> = {}): PolicyDocumentInput {
  return {
    tiers: {
      S: { model: 'small', price: { kind: 'api', usd_per_1m_prompt_tokens: 0.1, usd_per_1m_completion_tokens: 0.4 }, prompt_template: 'chat@1' },
      M: { model: 'medium', price: { kind: 'api', usd_per_1m_prompt_tokens: 1, usd_per_1m_completion_tokens: 4 }, prompt_template: 'chat@1' },
    },
    slo_classes: {
      std: { p95_latency_ms: 5000, max_cost_usd: 0.01, min_quality: 0.5, allowed_tiers: ['S', 'M'], rag_allowed: true, cache_allowed: true, cache_ttl_s: 60 },
    },
    tenants: {
      t1: {
        default_route: 'qa',
        routes: { qa: { slo_class: 'std', template_answer: 'Later.' }, legal: { slo_class: 'std', template_answer: 'Later.' } },
      },
    },
    classifier: { intents: [{ name: 'faq', examples: ['how do I log in?'] }], complexity_threshold: 0.5, risk_threshold: 0.5 },
    degrade: { ladder: ['serve_template'], shrink_context_max_tokens: 128 },
    ...extra,
  };
}

function issuesOf(d: unknown): string[] {
  try {
    validatePolicy(d, 'test');
  } catch (err) {
    assert.ok(err instanceof PolicyValidationError);
    return err.issues;
  }
  assert.fail('expected the document to be refused');
}

describe('the judge block of the policy', () => {
  it('accepts per-tier rates and a route override, and a document without it keeps its hash (no default is filled in)', () => {
    const without = validatePolicy(doc());
    assert.equal(without.judge, undefined);
    assert.equal(sha256OfJson(without), sha256OfJson(validatePolicy(doc())));
    const d = doc({ judge: { llm_sample: { S: 1, M: 0.25, L: 0 } } });
    d.tenants.t1!.routes.legal!.judge = { llm_sample: 1 };
    const p = validatePolicy(d);
    assert.deepEqual(p.judge, { llm_sample: { S: 1, M: 0.25, L: 0 } });
    assert.deepEqual(p.tenants.t1!.routes.legal!.judge, { llm_sample: 1 });
  });

  it('refuses a rate above 1, a negative rate, a non-number, an unknown tier and unknown fields, each at its path', () => {
    const d = doc({ judge: { llm_sample: { S: 1.5, M: -0.1, XL: 0.5 } as never, sample: 1 } as never });
    d.tenants.t1!.routes.qa!.judge = { llm_sample: 2 };
    d.tenants.t1!.routes.legal!.judge = { llm_sample: '0.5' as never, tiers: {} } as never;
    const issues = issuesOf(d);
    const at = (prefix: string, text?: string) =>
      assert.ok(
        issues.some((i) => i.startsWith(prefix) && (text === undefined || i.includes(text))),
        `${prefix} ${text ?? ''} in\n${issues.join('\n')}`,
      );
    at('judge.llm_sample.S: ');
    at('judge.llm_sample.M: ');
    at('judge.llm_sample: ', 'XL');
    at('judge: ', 'sample');
    at('tenants.t1.routes.qa.judge.llm_sample: ');
    at('tenants.t1.routes.legal.judge.llm_sample: ');
    at('tenants.t1.routes.legal.judge: ', 'tiers');
  });

  it('publishes the block in the JSON Schema with the tiers as the only keys, bounded 0..1', () => {
    const schema = policyJsonSchema() as { properties: { judge: { properties: { llm_sample: Record<string, unknown> } } } };
    const sample = schema.properties.judge.properties.llm_sample as {
      additionalProperties: unknown;
      properties: Record<string, { minimum: number; maximum: number }>;
    };
    assert.equal(sample.additionalProperties, false);
    assert.deepEqual(Object.keys(sample.properties).sort(), ['L', 'M', 'S']);
    assert.deepEqual([sample.properties.M!.minimum, sample.properties.M!.maximum], [0, 1]);
  });
});

describe('policyLlmSampleRate', () => {
  const d = doc({ judge: { llm_sample: { S: 1, M: 0.25 } } });
  d.tenants.t1!.routes.legal!.judge = { llm_sample: 0 };
  const p = validatePolicy(d);

  it("takes the tier's rate for a route without an override", () => {
    assert.equal(policyLlmSampleRate(p, { tenant: 't1', route: 'qa', tier: 'S' }), 1);
    assert.equal(policyLlmSampleRate(p, { tenant: 't1', route: 'qa', tier: 'M' }), 0.25);
    assert.equal(policyLlmSampleRate(p, { tenant: 't1', route: null, tier: 'M' }), 0.25);
  });

  it("takes the route's override over every tier's rate, 0 included", () => {
    assert.equal(policyLlmSampleRate(p, { tenant: 't1', route: 'legal', tier: 'S' }), 0);
    assert.equal(policyLlmSampleRate(p, { tenant: 't1', route: 'legal', tier: 'L' }), 0);
  });

  it('says nothing for a tier the block leaves out, an unknown tenant or route, or a policy without the block', () => {
    assert.equal(policyLlmSampleRate(p, { tenant: 't1', route: 'qa', tier: 'L' }), undefined);
    assert.equal(policyLlmSampleRate(p, { tenant: 'other', route: 'legal', tier: 'M' }), 0.25);
    assert.equal(policyLlmSampleRate(p, { tenant: 't1', route: 'nope', tier: 'S' }), 1);
    assert.equal(policyLlmSampleRate(validatePolicy(doc()), { tenant: 't1', route: 'qa', tier: 'S' }), undefined);
  });
});

describe('the judge settings of the local policy (infra/policies/local.yaml)', () => {
  const local = parsePolicyText(readFileSync(fileURLToPath(new URL('../../../../infra/policies/local.yaml', import.meta.url)), 'utf8'), 'local.yaml');

  it('samples every S answer and a quarter of M and L, and every contract-review answer of both tenants', () => {
    for (const tenant of ['tenant-a', 'tenant-b']) {
      assert.deepEqual(
        (['S', 'M', 'L'] as const).map((tier) => policyLlmSampleRate(local, { tenant, route: 'squad-qa', tier })),
        [1, 0.25, 0.25],
      );
      assert.deepEqual(
        (['M', 'L'] as const).map((tier) => policyLlmSampleRate(local, { tenant, route: 'contract-review', tier })),
        [1, 1],
      );
    }
  });
});
