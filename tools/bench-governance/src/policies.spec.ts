import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@llmgov/platform';
import { parsePolicyText, validatePolicy } from '@llmgov/policy';
import { armPolicies, armTenant } from './policies.js';

const file = path.join(repoRoot(), 'infra/policies/local.yaml');
const doc = parsePolicyText(readFileSync(file, 'utf8'), file);

describe('governance bench policies', () => {
  const { baseline, governed } = armPolicies(doc, 'r1');

  it('both documents are valid policies and hold both arms’ tenants with the same budgets', () => {
    for (const d of [baseline, governed]) validatePolicy(JSON.parse(JSON.stringify(d)));
    const tenants = Object.keys(doc.tenants).flatMap((t) => [armTenant('r1', 'baseline', t), armTenant('r1', 'governed', t)]);
    assert.deepEqual(Object.keys(governed.tenants).sort(), [...tenants].sort());
    assert.deepEqual(Object.keys(baseline.tenants).sort(), [...tenants].sort());
    assert.deepEqual(baseline.budgets, governed.budgets);
    assert.equal(governed.budgets.length, 2 * doc.budgets.length);
    assert.equal(governed.gates, undefined);
  });

  it('the governed document keeps the file’s SLO classes and tiers', () => {
    assert.deepEqual(governed.slo_classes, doc.slo_classes);
    assert.deepEqual(governed.tiers, doc.tiers);
  });

  it('the baseline sends every class to tier M with RAG, no cache, no escalation, no cost or latency gate', () => {
    for (const [name, c] of Object.entries(baseline.slo_classes)) {
      assert.deepEqual(c.allowed_tiers, ['M'], name);
      assert.equal(c.rag_allowed, true, name);
      assert.equal(c.cache_allowed, false, name);
      assert.equal(c.escalation, undefined, name);
      assert.ok(c.max_cost_usd >= 1 && c.p95_latency_ms >= 3_600_000, name);
    }
  });

  it('arm tenants differ per run and per arm', () => {
    assert.notEqual(armTenant('r1', 'baseline', 'tenant-a'), armTenant('r1', 'governed', 'tenant-a'));
    assert.notEqual(armTenant('r1', 'governed', 'tenant-a'), armTenant('r2', 'governed', 'tenant-a'));
  });

  it('refuses a policy without tenants', () => {
    assert.throws(() => armPolicies({ ...doc, tenants: {} }, 'r1'), /no tenant/);
  });
});
