/**
 * PinnedPolicySource against the real Postgres: a request's metadata `policy_version` is honoured only for versions of
 * the router's own policy namespace, loaded on demand; malformed and unknown pins are refused with the reason, and a
 * version applied after a miss is found on the next request.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HashingEmbedder } from '@llmgov/embeddings';
import { createLogger } from '@llmgov/observability';
import { PolicyRepository, createPgPool, migrate, type Pool } from '@llmgov/persistence';
import { parsePolicyText, policyTemplateRefs, templateFileName, type PolicyDocument } from '@llmgov/policy';
import { loadRouterConfig } from '../src/config.js';
import { PinnedPolicySource } from '../src/adapters/pinned-policy.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const namespace = `it-pin-${randomUUID()}`;

function policy(description: string) {
  const document: PolicyDocument = parsePolicyText(readFileSync(path.join(repoRoot, 'infra/policies/local.yaml'), 'utf8'), 'local.yaml');
  document.description = description;
  const templates = policyTemplateRefs(document).map((ref) => ({
    ...ref,
    content: JSON.parse(readFileSync(path.join(repoRoot, 'infra/prompts', templateFileName(ref)), 'utf8')) as Record<string, unknown>,
  }));
  return { document, templates, created_by: 'pinned-policy-test' };
}

describe('PinnedPolicySource (real Postgres)', () => {
  let pool: Pool;
  let source: PinnedPolicySource;
  let repo: PolicyRepository;

  before(async () => {
    await migrate(process.env.DATABASE_URL!);
    pool = createPgPool(process.env.DATABASE_URL!, { max: 1 });
    repo = new PolicyRepository(pool, namespace);
    source = new PinnedPolicySource(
      { ...loadRouterConfig(), POLICY_NAMESPACE: namespace, POLICY_ENABLED: true },
      new HashingEmbedder({ dimensions: 64 }),
      createLogger('pinned-policy-test', 'error'),
    );
  });
  after(async () => {
    await source.onApplicationShutdown();
    await pool.end();
  });

  it('no pin, a malformed pin, an unknown version, then the version once it is applied; a version of another namespace is not seen', async () => {
    assert.deepEqual(await source.lookup({}), { kind: 'none' });
    assert.deepEqual(await source.lookup(undefined), { kind: 'none' });
    for (const bad of ['0', '-1', '1.5', 'latest', '1e3']) {
      const r = await source.lookup({ policy_version: bad });
      assert.equal(r.kind, 'invalid', bad);
      assert.match((r as { reason: string }).reason, /not a version number/);
    }
    const missing = await source.lookup({ policy_version: '1' });
    assert.equal(missing.kind, 'invalid');
    assert.match((missing as { reason: string }).reason, new RegExp(`pinned policy version 1 does not exist in policy namespace ${namespace}`));

    // Version 1 of another namespace does not count.
    await new PolicyRepository(pool, `${namespace}-other`).apply(policy('other namespace'));
    assert.equal((await source.lookup({ policy_version: '1' })).kind, 'invalid');

    const v1 = (await repo.apply(policy('pinned v1'))).version;
    const v2 = (await repo.apply(policy('pinned v2'))).version;
    await repo.activate(v1, 'pinned-policy-test');
    const pinned = await source.lookup({ policy_version: String(v2) });
    assert.equal(pinned.kind, 'pinned');
    const snapshot = (pinned as { snapshot: { version: number; document: PolicyDocument; classifier: unknown } }).snapshot;
    assert.equal(snapshot.version, v2);
    assert.equal(snapshot.document.description, 'pinned v2');
    assert.notEqual(snapshot.classifier, null, 'the pinned version has its own classifier');
    // The earlier miss of version 1 was not cached.
    const first = await source.lookup({ policy_version: String(v1) });
    assert.equal(first.kind === 'pinned' && first.snapshot.document.description, 'pinned v1');
  });
});
