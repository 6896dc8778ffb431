import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { createPgPool, GoldenRepository, migrate, type Pool } from '@llmgov/persistence';
import { okJson, policyCli, repoRoot } from './support.js';

const squadFile = path.join(repoRoot, '../shared/data/squad-v1.1-dev-subset.json');
const llmgov = policyCli('golden-test');
const ok = okJson;

interface SetJson {
  id: number;
  name: string;
  version: number;
  items: number;
  intents: Record<string, number>;
  provenance: { kind: string; added: number; offered: number; sha256: string | null; note?: string }[];
}

describe('llmgov golden and the regression gate against the real Postgres', () => {
  let dir: string;
  let pool: Pool;
  const uid = () => randomUUID().slice(0, 8);
  const file = (name: string, content: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, content);
    return p;
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'llmgov-golden-'));
    await migrate(process.env.DATABASE_URL!);
    pool = createPgPool(process.env.DATABASE_URL!, { max: 2 });
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await pool.end();
  });

  it('creates a set from the SQuAD subset (--limit, round-robin tenants), lists and shows it; a second create of the name is refused', async () => {
    const name = `squad-${uid()}`;
    const dry = ok<{ dry_run: boolean; items: number; total_in_file: number }>(
      await llmgov('default', 'golden', 'create', '--name', name, '--from', squadFile, '--tenant', 'tenant-a,tenant-b', '--limit', '30', '--dry-run', '--json'),
    );
    assert.deepEqual([dry.dry_run, dry.items], [true, 30]);
    assert.ok(dry.total_in_file > 4000, String(dry.total_in_file));
    const missing = await llmgov('default', 'golden', 'show', name, '--json');
    assert.equal(missing.code, 1, 'the dry run wrote nothing');
    assert.match(missing.stderr, /unknown_golden_set/);

    const created = ok<{ created: boolean; added: number; set: SetJson }>(
      await llmgov('default', 'golden', 'create', '--name', name, '--from', squadFile, '--tenant', 'tenant-a,tenant-b', '--limit', '30', '--json'),
    );
    assert.deepEqual([created.created, created.added, created.set.version, created.set.items], [true, 30, 1, 30]);
    assert.deepEqual(created.set.intents, { 'squad-qa': 30 });
    assert.match(created.set.provenance[0]!.note ?? '', /CC BY-SA 4\.0/);
    assert.match(created.set.provenance[0]!.sha256 ?? '', /^[0-9a-f]{64}$/);

    const list = ok<SetJson[]>(await llmgov('default', 'golden', 'list', '--json'));
    assert.equal(list.find((s) => s.name === name)?.items, 30);
    const shown = ok<{ first_items: { tenant_id: string; source_document_id: string; expected_answers: string[] }[] }>(
      await llmgov('default', 'golden', 'show', name, '--items', '4', '--json'),
    );
    assert.equal(shown.first_items.length, 4);
    assert.deepEqual(new Set(shown.first_items.map((i) => i.tenant_id)), new Set(['tenant-a', 'tenant-b']));
    assert.ok(shown.first_items.every((i) => /^a\d+-p\d+$/.test(i.source_document_id) && i.expected_answers.length > 0));

    const again = await llmgov('default', 'golden', 'create', '--name', name, '--from', squadFile, '--limit', '5', '--json');
    assert.equal(again.code, 1);
    assert.equal((JSON.parse(again.stderr) as { error: { code: string } }).error.code, 'golden_set_exists');
  });

  it('refuses malformed, hostile and oversized files with the reason, writing nothing', async () => {
    const name = `bad-${uid()}`;
    const bad = file('bad.jsonl', ['{"prompt":"fine","expected_answer":"x"}', '{"prompt":"a\\u0000b","expected_answer":"x"}', '{nope'].join('\n'));
    const r = await llmgov('default', 'golden', 'create', '--name', name, '--from', bad, '--json');
    assert.equal(r.code, 1);
    const e = (JSON.parse(r.stderr) as { error: { code: string; issues: string[] } }).error;
    assert.equal(e.code, 'invalid_golden_file');
    assert.deepEqual(
      e.issues.map((i) => i.split(':')[0]),
      ['line 2', 'line 3'],
    );
    const big = file('big.jsonl', 'x'.repeat(16 * 1024 * 1024 + 1));
    const r2 = await llmgov('default', 'golden', 'create', '--name', name, '--from', big);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /at most 16777216 are accepted/);
    const r3 = await llmgov('default', 'golden', 'create', '--name', 'bad name!', '--from', bad);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /golden set name/);
    assert.equal(
      (await new GoldenRepository(pool).list()).some((s) => s.name === name),
      false,
    );
  });

  it('add-labels grows a set from GOOD labels of judged answers, with the prompt, once; BAD labels and --since are respected', async () => {
    const name = `labels-${uid()}`;
    const tenant = `t-${uid()}`;
    const jobs = [randomUUID(), randomUUID(), randomUUID()];
    // The rows the ingest-validator (jobs) and the feedback-labeler (judged_results, labels) store.
    for (const [i, job] of jobs.entries()) {
      await pool.query("INSERT INTO jobs (job_id, tenant_id, state, request) VALUES ($1, $2, 'completed', $3)", [
        job,
        tenant,
        JSON.stringify({ prompt: `question ${i}?`, route: i === 0 ? 'faq' : null }),
      ]);
      await pool.query(
        "INSERT INTO judged_results (job_id, tenant_id, verdict, groundedness, final_text, model, tier) VALUES ($1, $2, 'PASS', 0.9, $3, 'm', 'S')",
        [job, tenant, `answer ${i}`],
      );
    }
    const label = (job: string, l: string, at: string) =>
      pool.query("INSERT INTO labels (feedback_event_id, job_id, tenant_id, label, source, created_at) VALUES ($1, $2, $3, $4, 'EXPLICIT', $5)", [
        randomUUID(),
        job,
        tenant,
        l,
        at,
      ]);
    await label(jobs[0]!, 'GOOD', '2030-01-01T00:00:00Z');
    await label(jobs[1]!, 'BAD', '2030-01-01T00:00:00Z');
    await label(jobs[2]!, 'GOOD', '2030-01-02T00:00:00Z');
    const first = ok<{ added: number; set: SetJson }>(
      await llmgov('default', 'golden', 'add-labels', '--name', name, '--tenant', tenant, '--since', '2030-01-02T00:00:00Z', '--json'),
    );
    assert.deepEqual([first.added, first.set.items, first.set.version], [1, 1, 1]);
    const second = ok<{ added: number; skipped: number; set: SetJson }>(
      await llmgov('default', 'golden', 'add-labels', '--name', name, '--tenant', tenant, '--since', '2030-01-01T00:00:00Z', '--json'),
    );
    assert.deepEqual([second.added, second.skipped, second.set.items, second.set.version], [1, 1, 2, 2]);
    const items = await new GoldenRepository(pool).items(second.set.id);
    assert.deepEqual(items.map((i) => [i.prompt, i.expected_answers, i.tenant_id, i.route, i.source, i.source_id]).sort(), [
      ['question 0?', ['answer 0'], tenant, 'faq', 'labels', jobs[0]],
      ['question 2?', ['answer 2'], tenant, null, 'labels', jobs[2]],
    ]);
    const third = ok<{ added: number; set: SetJson }>(
      await llmgov('default', 'golden', 'add-labels', '--name', name, '--tenant', tenant, '--since', '2030-01-01T00:00:00Z', '--json'),
    );
    assert.deepEqual([third.added, third.set.version], [0, 2], 'nothing new: the version stays');
  });

  it('policy activate: the gate refuses a regression beyond tolerance, allows one within it, and --force records the refusal', async () => {
    const ns = `gate-test-${randomUUID()}`;
    const golden = `crit-${uid()}`;
    const jsonl = file('crit.jsonl', '{"id":"1","prompt":"Which team won Super Bowl 50?","expected_answer":"Denver Broncos","intent":"qa"}\n');
    ok(await llmgov(ns, 'golden', 'create', '--name', golden, '--from', jsonl, '--json'));
    const local = parse(readFileSync(path.join(repoRoot, 'infra/policies/local.yaml'), 'utf8')) as Record<string, unknown>;
    const prompts = path.join(repoRoot, 'infra/prompts');
    const apply = async (doc: Record<string, unknown>, fileName: string) =>
      ok<{ result: { version: number } }>(await llmgov(ns, 'policy', 'apply', file(fileName, stringify(doc)), '--prompts-dir', prompts, '--json')).result
        .version;
    const v1 = await apply(local, 'v1.yaml');
    const gates = [{ golden, max_f1_drop: 0.02, max_hallucination_rate_increase: 0.05 }];
    const v2 = await apply({ ...local, gates, description: 'v2' }, 'v2.yaml');
    const v3 = await apply({ ...local, gates, description: 'v3' }, 'v3.yaml');
    ok(await llmgov(ns, 'policy', 'activate', String(v1), '--json'));

    // No eval run of the candidate yet: refused, naming the eval to run.
    const noRun = await llmgov(ns, 'policy', 'activate', String(v2), '--json');
    assert.equal(noRun.code, 1);
    const noRunErr = (JSON.parse(noRun.stderr) as { error: { code: string; issues: string[] } }).error;
    assert.equal(noRunErr.code, 'gate_refused');
    assert.ok(
      noRunErr.issues.some((i) => i.includes(`llmgov eval --golden ${golden} --policy ${v2} --namespace ${ns}`)),
      noRunErr.issues.join('\n'),
    );

    const repo = new GoldenRepository(pool);
    const set = await repo.get(golden);
    const item = (await repo.items(set.id))[0]!;
    const run = (version: number, f1: number, hallucination: number) =>
      repo.recordRun({
        golden_set_id: set.id,
        golden_version: set.version,
        policy_namespace: ns,
        policy_version: version,
        pinned: true,
        summary: { overall: { exact_match: f1, f1, judge_pass_rate: 0.9, hallucination_rate: hallucination } },
        started_at: new Date(),
        created_by: 'golden-test',
        results: [
          { item_id: item.id, job_id: null, status: 'completed', answer: 'x', exact_match: 0, f1, verdict: 'PASS', tier: 'S', cost_usd: 0, latency_ms: 1 },
        ],
      });
    await run(v1, 0.7, 0.02);
    await run(v2, 0.65, 0.02);
    await run(v3, 0.69, 0.03);

    const refused = await llmgov(ns, 'policy', 'activate', String(v2));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`golden set ${golden} v1 .*f1 0\\.700 → 0\\.650 \\(drop 0\\.050 > allowed 0\\.020\\)`));
    const still = ok<{ versions: { version: number; active: boolean }[] }>(await llmgov(ns, 'policy', 'list', '--json'));
    assert.equal(still.versions.find((v) => v.active)?.version, v1, 'the refused version did not become active');

    const allowed = ok<{ version: number; gates: { passed: boolean; outcomes: { passed: boolean }[] } }>(
      await llmgov(ns, 'policy', 'activate', String(v3), '--json'),
    );
    assert.deepEqual([allowed.version, allowed.gates.passed, allowed.gates.outcomes.length], [v3, true, 1]);

    // v2 against the now active v3 (F1 0.69 → 0.65): refused; --force activates and records why.
    const forced = ok<{ version: number; activation: { comment: string } }>(
      await llmgov(ns, 'policy', 'activate', String(v2), '--force', '--comment', 'hotfix', '--json'),
    );
    assert.equal(forced.version, v2);
    assert.match(forced.activation.comment, /^hotfix \| forced past regression gates: golden set .* f1 0\.690 → 0\.650/);
  });
});
