import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { MAX_POLICY_BYTES, PolicyValidationError, parsePolicyText, validatePolicy } from './parse.js';
import type { PolicyDocument, PolicyDocumentInput } from './schema.js';
import { sha256OfJson } from './canonical.js';
import { policyTemplateRefs, templateContentProblems, templateFileName } from './templates.js';
import { policyJsonSchema } from './json-schema.js';

const localPolicyPath = fileURLToPath(new URL('../../../../infra/policies/local.yaml', import.meta.url));
const localText = readFileSync(localPolicyPath, 'utf8');

/** A small valid document; tests change one thing at a time. */
function minimal(): PolicyDocumentInput {
  return {
    tiers: { S: { model: 'small', price: { kind: 'api', usd_per_1m_prompt_tokens: 0.1, usd_per_1m_completion_tokens: 0.4 }, prompt_template: 'chat@1' } },
    slo_classes: {
      fast: { p95_latency_ms: 500, max_cost_usd: 0.001, min_quality: 0.2, allowed_tiers: ['S'], rag_allowed: false, cache_allowed: true, cache_ttl_s: 60 },
    },
    tenants: { t1: { default_route: 'faq', routes: { faq: { slo_class: 'fast', template_answer: 'Try later.' } } } },
    classifier: { intents: [{ name: 'faq', examples: ['how do I log in?'] }], complexity_threshold: 0.5, risk_threshold: 0.5 },
    degrade: { ladder: ['serve_cache', 'serve_template'], shrink_context_max_tokens: 128 },
  };
}

/** The issues of an invalid document (fails the test when it is valid). */
function issuesOf(doc: unknown): string[] {
  try {
    validatePolicy(doc, 'test');
  } catch (err) {
    assert.ok(err instanceof PolicyValidationError);
    return err.issues;
  }
  assert.fail('expected the document to be refused');
}

describe('the local policy (infra/policies/local.yaml)', () => {
  const policy = parsePolicyText(localText, localPolicyPath);

  it('declares the two demo tenants, each with a default route and three routes of three SLO classes', () => {
    assert.deepEqual(Object.keys(policy.tenants).sort(), ['tenant-a', 'tenant-b']);
    for (const tenant of Object.values(policy.tenants)) {
      assert.ok(tenant.default_route in tenant.routes);
      assert.deepEqual(Object.keys(tenant.routes).sort(), ['contract-review', 'squad-qa', 'support-faq']);
      assert.equal(new Set(Object.values(tenant.routes).map((r) => r.slo_class)).size, 3);
    }
  });

  it('uses the real local models of infra/pools/local-llama.json with their prompt templates, each a file of infra/prompts', () => {
    const pools = JSON.parse(readFileSync(fileURLToPath(new URL('../../../../infra/pools/local-llama.json', import.meta.url)), 'utf8')) as {
      pools: Record<string, { model: string; prompt_template: string }>;
    };
    for (const tier of ['S', 'M', 'L'] as const) {
      assert.equal(policy.tiers[tier]?.model, pools.pools[tier]?.model, tier);
      assert.equal(
        `../prompts/${templateFileName(policyTemplateRefs({ ...policy, tiers: { [tier]: policy.tiers[tier] } })[0]!)}`,
        pools.pools[tier]?.prompt_template,
      );
    }
    for (const ref of policyTemplateRefs(policy)) {
      const json: unknown = JSON.parse(readFileSync(fileURLToPath(new URL(`../../../../infra/prompts/${templateFileName(ref)}`, import.meta.url)), 'utf8'));
      assert.deepEqual(templateContentProblems(ref, json), []);
    }
  });

  it('applies the defaults: alert_at 0.8, throttle degrade, high_risk false', () => {
    const plain = policy.budgets.find((b) => b.tenant === 'tenant-a' && b.period === 'day' && !b.team && !b.route);
    assert.deepEqual([plain?.alert_at, plain?.throttle], [0.8, 'degrade']);
    assert.equal(policy.budgets.find((b) => b.tenant === 'tenant-b' && b.period === 'month' && !b.route)?.alert_at, 0.9);
    assert.equal(policy.classifier.intents.find((i) => i.name === 'factoid')?.high_risk, false);
    assert.equal(policy.classifier.intents.find((i) => i.name === 'legal')?.high_risk, true);
  });

  it('hashes the same whatever the key order or the format (YAML or JSON)', () => {
    const reordered = JSON.parse(
      JSON.stringify(policy, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v)),
    );
    assert.notEqual(JSON.stringify(reordered), JSON.stringify(policy));
    assert.equal(sha256OfJson(reordered), sha256OfJson(policy));
    assert.equal(sha256OfJson(parsePolicyText(JSON.stringify(policy), 'json')), sha256OfJson(policy));
    assert.equal(sha256OfJson(parsePolicyText(stringify(reordered), 'yaml')), sha256OfJson(policy));
    const changed = structuredClone(policy);
    changed.slo_classes.fast!.p95_latency_ms += 1;
    assert.notEqual(sha256OfJson(changed), sha256OfJson(policy));
  });
});

describe('policy schema', () => {
  it('accepts the minimal document and fills the defaults', () => {
    const doc: PolicyDocument = validatePolicy(minimal());
    assert.deepEqual(doc.budgets, []);
    assert.equal(doc.classifier.intents[0]?.high_risk, false);
  });

  it('refuses unknown fields at every level, with their paths', () => {
    const doc = minimal() as Record<string, unknown>;
    doc.extra = 1;
    (doc.slo_classes as Record<string, Record<string, unknown>>).fast!.p99 = 3;
    const issues = issuesOf(doc);
    assert.ok(
      issues.some((i) => i.startsWith('(root): ') && i.includes('extra')),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) => i.startsWith('slo_classes.fast: ') && i.includes('p99')),
      issues.join('\n'),
    );
  });

  it('refuses out-of-range figures, each at its path', () => {
    const doc = minimal();
    const fast = doc.slo_classes.fast!;
    Object.assign(fast, { p95_latency_ms: 0, max_cost_usd: -1, min_quality: 1.5, cache_ttl_s: 1.5, allowed_tiers: [] });
    const issues = issuesOf(doc);
    for (const field of ['p95_latency_ms', 'max_cost_usd', 'min_quality', 'cache_ttl_s', 'allowed_tiers'])
      assert.ok(
        issues.some((i) => i.startsWith(`slo_classes.fast.${field}: `)),
        `${field} in ${issues.join('\n')}`,
      );
  });

  it('refuses names that are not identifiers and template references that are not name@version', () => {
    const doc = minimal();
    doc.tenants = { 'bad tenant!': doc.tenants.t1! };
    doc.tiers.S!.prompt_template = 'chat';
    const issues = issuesOf(doc);
    assert.ok(
      issues.some((i) => i.startsWith('tenants.bad tenant!')),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) => i.startsWith('tiers.S.prompt_template: ') && i.includes('name@version')),
      issues.join('\n'),
    );
  });

  it('checks the cross-references: classes, default routes, tiers, template answers, budgets (one scope each), intents', () => {
    const doc = minimal();
    doc.tenants.t1 = {
      default_route: 'nope',
      routes: { faq: { slo_class: 'missing' }, other: { slo_class: 'fast' } },
    };
    doc.slo_classes.fast!.allowed_tiers = ['S', 'L'];
    doc.budgets = [
      { tenant: 'ghost', period: 'day', limit_usd: 1 },
      { tenant: 't1', route: 'nowhere', period: 'month', limit_usd: 1 },
      { tenant: 't1', team: 'x', period: 'day', limit_usd: 1 },
      { tenant: 't1', team: 'x', period: 'day', limit_usd: 2 },
      { tenant: 't1', team: 'x', route: 'other', period: 'month', limit_usd: 1 },
    ];
    doc.classifier.intents.push({ name: 'faq', examples: ['again'] });
    assert.deepEqual(issuesOf(doc).sort(), [
      'budgets.0.tenant: tenant ghost is not declared in tenants',
      "budgets.1.route: route nowhere is not one of tenant t1's routes",
      'budgets.3: a day budget for this scope is declared twice',
      'budgets.4: a budget applies to the tenant, one of its teams or one of its routes: give team or route, not both (spend is counted per scope)',
      'classifier.intents.1.name: intent faq is declared twice',
      'slo_classes.fast.allowed_tiers.1: tier L is not declared in tiers',
      "tenants.t1.default_route: route nope is not one of this tenant's routes",
      'tenants.t1.routes.faq.slo_class: SLO class missing is not declared in slo_classes',
      "tenants.t1.routes.faq.template_answer: the route's degrade ladder has serve_template, so it needs a template_answer",
      "tenants.t1.routes.other.template_answer: the route's degrade ladder has serve_template, so it needs a template_answer",
    ]);
  });

  it('asks a template answer only of routes whose own ladder has serve_template', () => {
    const doc = minimal();
    doc.tenants.t1!.routes = { faq: { slo_class: 'fast', degrade_ladder: ['lower_tier'] } };
    assert.doesNotThrow(() => validatePolicy(doc));
    doc.degrade.ladder = ['serve_cache'];
    doc.tenants.t1!.routes = { faq: { slo_class: 'fast', degrade_ladder: ['serve_template'] } };
    assert.ok(issuesOf(doc).some((i) => i.startsWith('tenants.t1.routes.faq.template_answer: ')));
  });

  it('refuses repeated degrade steps and repeated tiers', () => {
    const doc = minimal();
    doc.degrade.ladder = ['serve_cache', 'serve_cache'];
    doc.slo_classes.fast!.allowed_tiers = ['S', 'S'];
    const issues = issuesOf(doc);
    assert.ok(
      issues.some((i) => i.startsWith('degrade.ladder: ') && i.includes('must not repeat')),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) => i.startsWith('slo_classes.fast.allowed_tiers: ') && i.includes('must not repeat')),
      issues.join('\n'),
    );
  });

  it('publishes a JSON Schema that forbids unknown fields and leaves defaulted fields optional', () => {
    const schema = policyJsonSchema() as { additionalProperties: unknown; required: string[]; properties: Record<string, unknown> };
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual([...schema.required].sort(), ['classifier', 'degrade', 'slo_classes', 'tenants', 'tiers']);
    const budget = (schema.properties.budgets as { items: { required: string[] } }).items;
    assert.deepEqual([...budget.required].sort(), ['limit_usd', 'period', 'tenant']);
  });
});

describe('parsePolicyText on malformed and hostile input', () => {
  const refused = (text: string): string[] => {
    try {
      parsePolicyText(text, 'hostile.yaml');
    } catch (err) {
      assert.ok(err instanceof PolicyValidationError, String(err));
      assert.equal(err.source, 'hostile.yaml');
      assert.ok(err.issues.length > 0);
      return err.issues;
    }
    assert.fail('expected the text to be refused');
  };

  it('reports YAML syntax errors with line and column', () => {
    const issues = refused('tiers:\n  S: [unclosed\n');
    assert.match(issues.join('\n'), /line \d+, column \d+/);
  });

  it('refuses an empty file, a scalar and a list as the document', () => {
    assert.match(refused('').join(), /no document|expected object/);
    assert.match(refused('just text').join(), /^\(root\): .*expected object/);
    assert.match(refused('- a\n- b').join(), /^\(root\): .*expected object/);
  });

  it('refuses several documents in one file', () => {
    assert.match(refused(`${localText}\n---\n${localText}`).join(), /2 YAML documents/);
  });

  it('refuses duplicate keys', () => {
    assert.match(refused('description: a\ndescription: b\n').join(), /[Mm]ap keys must be unique/);
  });

  it('refuses custom tags instead of running or ignoring them', () => {
    assert.match(refused('description: !!js/function "function () { process.exit(1) }"\n').join(), /tag/i);
    assert.match(refused('description: !include /etc/passwd\n').join(), /tag/i);
  });

  it('refuses a billion-laughs alias bomb', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    assert.match(refused(lines.join('\n')).join(), /alias/i);
  });

  it('refuses nesting deep enough to exhaust the stack, and text over the size limit', () => {
    assert.ok(refused(`${'['.repeat(200_000)}${']'.repeat(200_000)}`).length > 0);
    assert.match(refused(`description: "${'x'.repeat(MAX_POLICY_BYTES)}"`).join(), /at most 1048576/);
  });

  it('lists every schema problem of a well-formed but wrong document', () => {
    const issues = refused('tiers: {}\nslo_classes: []\ntenants: {}\nclassifier: {}\ndegrade: { ladder: [teleport] }\n');
    assert.ok(issues.length >= 5, issues.join('\n'));
    for (const path of ['tiers: ', 'slo_classes: ', 'classifier.intents: ', 'degrade.ladder.0: ', 'degrade.shrink_context_max_tokens: '])
      assert.ok(
        issues.some((i) => i.startsWith(path)),
        `${path} in ${issues.join('\n')}`,
      );
  });
});
