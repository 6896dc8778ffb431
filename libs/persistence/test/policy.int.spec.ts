import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parsePolicyText, policyTemplateRefs, templateFileName, type PolicyDocument, type PromptTemplateRecord } from '@llmgov/policy';
import { eventually } from '@llmgov/testing';
import { createPgPool, migrate, PolicyRepository, PolicyStoreError, PolicyWatcher, type ActivePolicy } from '@llmgov/persistence';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://llmgov:llmgov@127.0.0.1:5432/llmgov';
const repoFile = (rel: string) => fileURLToPath(new URL(`../../../../${rel}`, import.meta.url));
const localPolicy = parsePolicyText(readFileSync(repoFile('infra/policies/local.yaml'), 'utf8'), 'local.yaml');
/** Issue 10: a router applies a newly activated version within 5 s. The awaits below fail after that long. */
const WITHIN_5_S = 5000;

/** The local policy with tier S's template replaced by a test template `name@version` (unique per test), and its templates. */
function policyWith(
  sTemplate: { name: string; version: number },
  tweak?: (p: PolicyDocument) => void,
): { document: PolicyDocument; templates: PromptTemplateRecord[] } {
  const document = structuredClone(localPolicy);
  document.tiers.S!.prompt_template = `${sTemplate.name}@${sTemplate.version}`;
  tweak?.(document);
  const templates = policyTemplateRefs(document).map((ref) => {
    if (ref.name === sTemplate.name)
      return { ...ref, content: { name: ref.name, version: ref.version, api: 'chat', messages: [{ role: 'user', content: `v${ref.version}: {{question}}` }] } };
    return { ...ref, content: JSON.parse(readFileSync(repoFile(`infra/prompts/${templateFileName(ref)}`), 'utf8')) as Record<string, unknown> };
  });
  return { document, templates };
}

const storeError = (code: string) => (err: unknown) => err instanceof PolicyStoreError && err.code === code;
const changeOf = async (watcher: PolicyWatcher): Promise<ActivePolicy> =>
  (await once(watcher, 'change', { signal: AbortSignal.timeout(WITHIN_5_S) }))[0] as ActivePolicy;

describe('PolicyRepository and PolicyWatcher against the real Postgres', () => {
  let pool: pg.Pool;
  const namespace = () => `test-${randomUUID()}`;
  const tpl = () => `test-tpl-${randomUUID().slice(0, 8)}`;

  before(async () => {
    await migrate(DATABASE_URL);
    pool = createPgPool(DATABASE_URL, { max: 8 });
  });
  after(async () => {
    await pool.end();
  });

  it('applies idempotently by SHA-256: the same document (in any key order) is one version; a changed one is the next', async () => {
    const repo = new PolicyRepository(pool, namespace());
    const name = tpl();
    const v1 = policyWith({ name, version: 1 });
    const first = await repo.apply({ ...v1, created_by: 'test', comment: 'first' });
    assert.deepEqual([first.version, first.created], [1, true]);
    const reordered = JSON.parse(
      JSON.stringify(v1.document, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v)),
    ) as PolicyDocument;
    const again = await repo.apply({ document: reordered, templates: [...v1.templates].reverse(), created_by: 'someone else' });
    assert.deepEqual(again, { version: 1, sha256: first.sha256, created: false });
    const changed = await repo.apply({ ...policyWith({ name, version: 1 }, (p) => (p.slo_classes.fast!.p95_latency_ms = 650)), created_by: 'test' });
    assert.deepEqual([changed.version, changed.created], [2, true]);
    const versions = await repo.list();
    assert.deepEqual(
      versions.map((v) => [v.version, v.created_by, v.comment, v.active]),
      [
        [1, 'test', 'first', false],
        [2, 'test', null, false],
      ],
    );
    assert.deepEqual(versions[0]!.templates, ['squad-completions-gemma@1', 'squad-completions-gemma-long@1', `${name}@1`]);
    const shown = await repo.show(1);
    assert.deepEqual(shown.document, v1.document);
    assert.deepEqual(shown.template_contents.find((t) => t.name === name)?.content, v1.templates.find((t) => t.name === name)?.content);
  });

  it('rollback test: activate v1, activate v2, rollback: v1 is active again with its templates, and the history shows all three actions', async () => {
    const repo = new PolicyRepository(pool, namespace());
    const name = tpl();
    const v1 = await repo.apply({ ...policyWith({ name, version: 1 }), created_by: 'alice' });
    const v2 = await repo.apply({ ...policyWith({ name, version: 2 }), created_by: 'bob' });
    assert.deepEqual([v1.version, v2.version], [1, 2]);

    assert.equal((await repo.activate(1, 'alice', 'go live')).previous_version, null);
    assert.equal((await repo.activate(2, 'bob')).previous_version, 1);
    assert.equal((await repo.active())?.templates.find((t) => t.name === name)?.version, 2);

    const rolled = await repo.rollback('carol', 'v2 answers worse');
    assert.deepEqual([rolled.version, rolled.previous_version, rolled.activation?.action], [1, 2, 'rollback']);
    const active = await repo.active();
    assert.equal(active?.version, 1);
    assert.equal(active?.sha256, v1.sha256);
    const sTemplate = active?.templates.find((t) => t.name === name);
    assert.deepEqual([sTemplate?.version, sTemplate?.content.messages], [1, [{ role: 'user', content: 'v1: {{question}}' }]]);
    assert.equal(active?.document.tiers.S?.prompt_template, `${name}@1`);

    const history = await repo.history();
    assert.deepEqual(
      history.map((h) => [h.action, h.version, h.previous_version, h.activated_by, h.comment]),
      [
        ['activate', 1, null, 'alice', 'go live'],
        ['activate', 2, 1, 'bob', null],
        ['rollback', 1, 2, 'carol', 'v2 answers worse'],
      ],
    );
    assert.deepEqual(
      (await repo.list()).map((v) => [v.version, v.active]),
      [
        [1, true],
        [2, false],
      ],
    );
    // v1 was the first activation: there is nothing before it to roll back to, and nothing was written.
    await assert.rejects(repo.rollback('carol'), storeError('nothing_to_roll_back'));
    assert.equal((await repo.history()).length, 3);
  });

  it('walks back through activations with rollbacks in a row', async () => {
    const repo = new PolicyRepository(pool, namespace());
    const name = tpl();
    for (const version of [1, 2, 3]) await repo.apply({ ...policyWith({ name, version }), created_by: 't' });
    for (const version of [1, 2, 3]) await repo.activate(version, 't');
    assert.equal((await repo.rollback('t')).version, 2);
    assert.equal((await repo.rollback('t')).version, 1);
    await assert.rejects(repo.rollback('t'), storeError('nothing_to_roll_back'));
    // Activating after a rollback starts from the version in effect: rolling that back returns to it.
    await repo.activate(3, 't');
    assert.equal((await repo.rollback('t')).version, 1);
  });

  it('refuses unknown versions, empty rollbacks and changed templates with clear errors, writing nothing', async () => {
    const repo = new PolicyRepository(pool, namespace());
    await assert.rejects(repo.show(), storeError('no_active_version'));
    await assert.rejects(repo.rollback('t'), storeError('nothing_to_roll_back'));
    await assert.rejects(repo.activate(1, 't'), (e: unknown) => storeError('unknown_version')(e) && /no version has been applied/.test((e as Error).message));
    const name = tpl();
    await repo.apply({ ...policyWith({ name, version: 1 }), created_by: 't' });
    await assert.rejects(repo.activate(7, 't'), (e: unknown) => storeError('unknown_version')(e) && /versions 1\.\.1 exist/.test((e as Error).message));
    await assert.rejects(repo.show(7), storeError('unknown_version'));

    // The same name@version with other content: templates are immutable.
    const tampered = policyWith({ name, version: 1 }, (p) => (p.description = 'changed'));
    const s = tampered.templates.find((t) => t.name === name)!;
    s.content = { ...s.content, messages: [{ role: 'user', content: 'edited in place {{question}}' }] };
    await assert.rejects(
      repo.apply({ ...tampered, created_by: 't' }),
      (e: unknown) => storeError('template_conflict')(e) && new RegExp(`publish it as ${name}@2`).test((e as Error).message),
    );
    // Missing, extra or misnamed templates.
    const ok = policyWith({ name, version: 1 }, (p) => (p.description = 'other'));
    await assert.rejects(repo.apply({ ...ok, templates: ok.templates.slice(1), created_by: 't' }), storeError('template_mismatch'));
    await assert.rejects(repo.apply({ ...ok, templates: [...ok.templates, ok.templates[0]!], created_by: 't' }), storeError('template_mismatch'));
    const misnamed = ok.templates.map((t) => (t.name === name ? { ...t, content: { ...t.content, version: 9 } } : t));
    await assert.rejects(repo.apply({ ...ok, templates: misnamed, created_by: 't' }), storeError('template_mismatch'));
    assert.deepEqual(
      (await repo.list()).map((v) => v.version),
      [1],
    );
  });

  it('records nothing when the version to activate is already active', async () => {
    const repo = new PolicyRepository(pool, namespace());
    await repo.apply({ ...policyWith({ name: tpl(), version: 1 }), created_by: 't' });
    assert.notEqual((await repo.activate(1, 't')).activation, null);
    const again = await repo.activate(1, 't');
    assert.deepEqual([again.activation, again.version], [null, 1]);
    assert.equal((await repo.history()).length, 1);
  });

  it('numbers concurrent applies of different documents 1..n without gaps or duplicates', async () => {
    const repo = new PolicyRepository(pool, namespace());
    const name = tpl();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => repo.apply({ ...policyWith({ name, version: 1 }, (p) => (p.description = `variant ${i}`)), created_by: 't' })),
    );
    assert.deepEqual(
      results.map((r) => r.version).sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6],
    );
  });

  it('keeps namespaces apart', async () => {
    const a = new PolicyRepository(pool, namespace());
    const b = new PolicyRepository(pool, namespace());
    await a.apply({ ...policyWith({ name: tpl(), version: 1 }), created_by: 't' });
    await a.activate(1, 't');
    assert.deepEqual(await b.list(), []);
    assert.equal(await b.active(), undefined);
  });

  it('watcher: hears an activation and a rollback (LISTEN/NOTIFY) within 5 s, with the version and its templates', async () => {
    const ns = namespace();
    const repo = new PolicyRepository(pool, ns);
    const name = tpl();
    await repo.apply({ ...policyWith({ name, version: 1 }), created_by: 't' });
    await repo.apply({ ...policyWith({ name, version: 2 }), created_by: 't' });
    const errors: Error[] = [];
    // A poll interval longer than the test's wait: only the notification can deliver the change in time.
    const watcher = new PolicyWatcher({ connectionString: DATABASE_URL, namespace: ns, pollIntervalMs: 600_000, onError: (e) => errors.push(e) });
    try {
      assert.equal(await watcher.start(), undefined);
      let change = changeOf(watcher);
      await repo.activate(2, 't');
      let seen = await change;
      assert.deepEqual([seen.version, seen.activation.action, seen.templates.find((t) => t.name === name)?.version], [2, 'activate', 2]);
      // An activation in another namespace is not this watcher's.
      const other = new PolicyRepository(pool, namespace());
      await other.apply({ ...policyWith({ name: tpl(), version: 1 }), created_by: 't' });
      await other.activate(1, 't');
      change = changeOf(watcher);
      await repo.activate(1, 't');
      seen = await change;
      assert.deepEqual([seen.version, seen.document.tiers.S?.prompt_template], [1, `${name}@1`]);
      change = changeOf(watcher);
      await repo.rollback('t');
      seen = await change;
      assert.deepEqual([seen.version, seen.activation.action, seen.templates.find((t) => t.name === name)?.version], [2, 'rollback', 2]);
      assert.equal(watcher.current()?.activation.id, seen.activation.id);
      assert.deepEqual(errors, []);
    } finally {
      await watcher.stop();
    }
  });

  it('watcher: without LISTEN, the 2 s poll still applies an activation within 5 s', async () => {
    const ns = namespace();
    const repo = new PolicyRepository(pool, ns);
    await repo.apply({ ...policyWith({ name: tpl(), version: 1 }), created_by: 't' });
    const watcher = new PolicyWatcher({ connectionString: DATABASE_URL, namespace: ns, listen: false });
    try {
      await watcher.start();
      const change = changeOf(watcher);
      await repo.activate(1, 't');
      assert.equal((await change).version, 1);
    } finally {
      await watcher.stop();
    }
  });

  it('watcher: its LISTEN connection killed, it reports the error, reconnects, and still applies the next activation', async () => {
    const ns = namespace();
    const repo = new PolicyRepository(pool, ns);
    await repo.apply({ ...policyWith({ name: tpl(), version: 1 }), created_by: 't' });
    await repo.apply({ ...policyWith({ name: tpl(), version: 1 }), created_by: 't' });
    const errors: Error[] = [];
    const watcher = new PolicyWatcher({ connectionString: DATABASE_URL, namespace: ns, onError: (e) => errors.push(e) });
    const listeners = async () =>
      (await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [`llmgov-policy-watcher:${ns}`])).rows.map(
        (r) => r.pid,
      );
    try {
      await watcher.start();
      await repo.activate(1, 't');
      assert.equal((await changeOf(watcher)).version, 1);
      const [pid] = await listeners();
      assert.ok(pid, 'the watcher holds a LISTEN connection');
      await pool.query('SELECT pg_terminate_backend($1)', [pid]);
      const change = changeOf(watcher);
      await repo.activate(2, 't');
      assert.equal((await change).version, 2);
      assert.ok(errors.length >= 1, 'the lost connection was reported');
      // The next poll opened a new LISTEN connection (awaited by polling pg_stat_activity: it is another process's state).
      await eventually('a new LISTEN connection', async () => ((await listeners()).some((p) => p !== pid) ? true : undefined), { timeoutMs: 10_000 });
    } finally {
      await watcher.stop();
    }
    assert.deepEqual(await listeners(), [], 'stop closes the LISTEN connection');
  });
});
