/**
 * Canary releases of policy versions against the real Postgres (migration 009): start, abort, promote, automated
 * rollback with its cause, the history kept, the refusals, and a watcher hearing each change within 5 s.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parsePolicyText, policyTemplateRefs, templateFileName, type PolicyDocument } from '@llmgov/policy';
import { createPgPool, migrate, PolicyRepository, PolicyStoreError, PolicyWatcher, type ActivePolicy } from '@llmgov/persistence';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://llmgov:llmgov@127.0.0.1:5432/llmgov';
const repoFile = (rel: string) => fileURLToPath(new URL(`../../../../${rel}`, import.meta.url));
const localPolicy = parsePolicyText(readFileSync(repoFile('infra/policies/local.yaml'), 'utf8'), 'local.yaml');
const WITHIN_5_S = 5000;

/** The local policy with its description changed (a distinct version per `n`), and its templates. */
function policy(n: number) {
  const document: PolicyDocument = { ...structuredClone(localPolicy), description: `canary test version ${n}` };
  const templates = policyTemplateRefs(document).map((ref) => ({
    ...ref,
    content: JSON.parse(readFileSync(repoFile(`infra/prompts/${templateFileName(ref)}`), 'utf8')) as Record<string, unknown>,
  }));
  return { document, templates, created_by: 'canary-test' };
}

const storeError = (code: string) => (err: unknown) => err instanceof PolicyStoreError && err.code === code;
const changeOf = async (watcher: PolicyWatcher): Promise<ActivePolicy> =>
  (await once(watcher, 'change', { signal: AbortSignal.timeout(WITHIN_5_S) }))[0] as ActivePolicy;

describe('policy canaries against the real Postgres', () => {
  let pool: pg.Pool;
  before(async () => {
    await migrate(DATABASE_URL);
    pool = createPgPool(DATABASE_URL, { max: 4 });
  });
  after(async () => {
    await pool.end();
  });

  async function setup(): Promise<{ repo: PolicyRepository; v1: number; v2: number; v3: number }> {
    const repo = new PolicyRepository(pool, `canary-${randomUUID()}`);
    const [v1, v2, v3] = [(await repo.apply(policy(1))).version, (await repo.apply(policy(2))).version, (await repo.apply(policy(3))).version];
    return { repo, v1, v2, v3 };
  }

  it('refuses a canary without a stable version, of the stable version, of an unknown version, at a bad percent, or a second one', async () => {
    const { repo, v1, v2, v3 } = await setup();
    await assert.rejects(repo.startCanary(v2, 10, 'op'), storeError('no_active_version'));
    await repo.activate(v1, 'op');
    await assert.rejects(repo.startCanary(v1, 10, 'op'), storeError('invalid_canary'));
    await assert.rejects(repo.startCanary(99, 10, 'op'), storeError('unknown_version'));
    for (const bad of [0, -5, 100.5, Number.NaN]) await assert.rejects(repo.startCanary(v2, bad, 'op'), storeError('invalid_canary'));
    await repo.startCanary(v2, 10, 'op');
    await assert.rejects(repo.startCanary(v3, 10, 'op'), storeError('canary_in_progress'));
    await assert.rejects(new PolicyRepository(pool, `canary-${randomUUID()}`).endCanary('aborted', 'op', null), storeError('no_canary'));
    await assert.rejects(new PolicyRepository(pool, `canary-${randomUUID()}`).promoteCanary('op'), storeError('no_canary'));
    assert.equal((await repo.canaries()).length, 1);
  });

  it('keeps the history: aborted, rolled back automatically with its cause (once), promoted to stable', async () => {
    const { repo, v1, v2, v3 } = await setup();
    await repo.activate(v1, 'op');
    const first = await repo.startCanary(v2, 25, 'alice', 'try v2');
    assert.deepEqual([first.version, first.stable_version, first.percent, first.outcome], [v2, v1, 25, null]);
    const active = await repo.active();
    assert.equal(active?.version, v1);
    assert.equal(active?.canary?.version, v2);
    assert.equal(active?.canary?.document.description, 'canary test version 2');
    await repo.endCanary('aborted', 'alice', 'changed my mind');
    assert.equal((await repo.active())?.canary, null);

    const second = await repo.startCanary(v3, 50, 'bob');
    const cause = 'cost per request 1.0e-3 USD > 1.5 × stable 1.0e-4 USD';
    const rolled = await repo.endCanary('rolled_back', 'canary-controller', cause, second.id);
    assert.equal(rolled?.outcome, 'rolled_back');
    // A controller acting again on the ended canary does nothing.
    assert.equal(await repo.endCanary('rolled_back', 'canary-controller', 'again', second.id), undefined);
    assert.equal((await repo.active())?.version, v1);

    await repo.startCanary(v2, 10, 'carol');
    const promoted = await repo.promoteCanary('carol');
    assert.deepEqual([promoted.version, promoted.previous_version, promoted.canary.outcome], [v2, v1, 'promoted']);
    const after = await repo.active();
    assert.deepEqual([after?.version, after?.canary], [v2, null]);

    const history = (await repo.canaries()).map((c) => [c.version, c.percent, c.started_by, c.outcome, c.ended_by, c.cause]);
    assert.deepEqual(history, [
      [v2, 25, 'alice', 'aborted', 'alice', 'changed my mind'],
      [v3, 50, 'bob', 'rolled_back', 'canary-controller', cause],
      [v2, 10, 'carol', 'promoted', 'carol', `promoted canary #${(await repo.canaries())[2]!.id} (10%)`],
    ]);
  });

  it('ends an open canary when another version is activated or the stable one is rolled back', async () => {
    const { repo, v1, v2, v3 } = await setup();
    await repo.activate(v1, 'op');
    await repo.startCanary(v2, 10, 'op');
    await repo.activate(v3, 'op');
    await repo.startCanary(v2, 10, 'op');
    await repo.rollback('op');
    assert.deepEqual(
      (await repo.canaries()).map((c) => [c.outcome, c.cause]),
      [
        ['aborted', `superseded: version ${v3} was activated`],
        ['aborted', `superseded: rolled back to version ${v1}`],
      ],
    );
  });

  it('watcher: hears a canary start and its end within 5 s, with the canary version and percent', async () => {
    const { repo, v1, v2 } = await setup();
    await repo.activate(v1, 'op');
    const watcher = new PolicyWatcher({ connectionString: DATABASE_URL, namespace: repo.namespace });
    try {
      assert.equal((await watcher.start())?.canary, null);
      let change = changeOf(watcher);
      await repo.startCanary(v2, 30, 'op');
      const started = await change;
      assert.deepEqual([started.version, started.canary?.version, started.canary?.canary.percent], [v1, v2, 30]);
      change = changeOf(watcher);
      await repo.endCanary('aborted', 'op', null);
      const ended = await change;
      assert.deepEqual([ended.version, ended.canary], [v1, null]);
    } finally {
      await watcher.stop();
    }
  });
});
