import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EmbeddingsClient } from '@llmgov/embeddings';
import { createLogger } from '@llmgov/observability';
import type { ActivePolicy, PolicyBudgetLimits } from '@llmgov/persistence';
import { parsePolicyText, routesToCanary } from '@llmgov/policy';
import type { RouterConfig } from '../config.js';
import { ActivePolicySource } from './active-policy.js';

const doc = parsePolicyText(readFileSync(fileURLToPath(new URL('../../../../../infra/policies/local.yaml', import.meta.url)), 'utf8'), 'local.yaml');
const embeddings = {
  embed: (texts: string[]) => Promise.resolve({ vectors: texts.map((_, i) => new Float32Array([1, i % 2, 0])) }),
} as unknown as EmbeddingsClient;
const applied: number[] = [];
const limits = { apply: (v: { version: number }) => applied.push(v.version) > 0 } as unknown as PolicyBudgetLimits;

function active(version: number, canary?: { id: number; version: number; percent: number }): ActivePolicy {
  const at = new Date(0);
  return {
    version,
    sha256: `sha-${version}`,
    document: doc,
    templates: [],
    activation: { id: version, namespace: 'n', version, action: 'activate', previous_version: null, activated_at: at, activated_by: 't', comment: null },
    canary: canary
      ? {
          canary: {
            id: canary.id,
            namespace: 'n',
            mode: 'canary',
            version: canary.version,
            stable_version: version,
            percent: canary.percent,
            started_at: at,
            started_by: 't',
            comment: null,
            ended_at: null,
            ended_by: null,
            outcome: null,
            cause: null,
          },
          version: canary.version,
          sha256: `sha-${canary.version}`,
          document: doc,
          templates: [],
        }
      : null,
  };
}

describe('ActivePolicySource.forJob', () => {
  it('gives the canary version to the jobs under its percent, the stable version to the others, the same every time', async () => {
    const source = new ActivePolicySource({ POLICY_ENABLED: false } as RouterConfig, embeddings, createLogger('spec', 'silent'), limits);
    const load = (p: ActivePolicy) => (source as unknown as { load(p: ActivePolicy): Promise<void> }).load(p);
    assert.equal(source.forJob('job-1'), undefined);

    await load(active(1, { id: 7, version: 2, percent: 30 }));
    const ids = Array.from({ length: 200 }, (_, i) => `job-${i}`);
    for (const id of ids) {
      const want = routesToCanary(id, 30) ? 2 : 1;
      assert.equal(source.forJob(id)?.version, want);
      assert.equal(source.forJob(id)?.version, want, 'the same job gets the same version again');
    }
    assert.ok(ids.some((id) => source.forJob(id)?.version === 2) && ids.some((id) => source.forJob(id)?.version === 1));
    assert.equal(source.canary()?.percent, 30);
    // The budgets are the stable version's, not the canary's.
    assert.deepEqual(applied, [1]);

    // The canary ends: every job goes to the stable version again.
    await load(active(1));
    assert.ok(ids.every((id) => source.forJob(id)?.version === 1));
    assert.equal(source.canary(), undefined);
  });
});

describe('ActivePolicySource.shadowFor', () => {
  it('copies the jobs under the shadow percent (the job-id hash), while every job stays decided by the stable version', async () => {
    const source = new ActivePolicySource({ POLICY_ENABLED: false } as RouterConfig, embeddings, createLogger('spec', 'silent'), limits);
    const load = (p: ActivePolicy) => (source as unknown as { load(p: ActivePolicy): Promise<void> }).load(p);
    const withShadow = (percent: number): ActivePolicy => {
      const a = active(1, { id: 8, version: 3, percent });
      return { ...a, canary: null, shadow: a.canary ? { ...a.canary, canary: { ...a.canary.canary, mode: 'shadow' } } : null };
    };
    await load(withShadow(25));
    const ids = Array.from({ length: 400 }, (_, i) => `job-${i}`);
    const copied = ids.filter((id) => source.shadowFor(id) !== undefined);
    assert.deepEqual(
      copied,
      ids.filter((id) => routesToCanary(id, 25)),
    );
    assert.ok(copied.length > 50 && copied.length < 150, `about a quarter of 400 copied, got ${copied.length}`);
    assert.ok(copied.every((id) => source.shadowFor(id)?.snapshot.version === 3));
    assert.ok(
      ids.every((id) => source.forJob(id)?.version === 1),
      'a shadow never changes which version answers the user',
    );
    assert.equal(source.canary(), undefined);

    // Raising the percent only adds jobs to the copied share.
    await load(withShadow(60));
    assert.ok(copied.every((id) => source.shadowFor(id) !== undefined));
    await load(active(1));
    assert.ok(ids.every((id) => source.shadowFor(id) === undefined));
  });
});
