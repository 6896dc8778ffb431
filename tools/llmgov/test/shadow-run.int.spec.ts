/**
 * `llmgov shadow` (issue 12 §5) end to end on the real platform (every service, the vllm-sim engines and the hashing
 * embedder) under its own Kafka namespace, policy namespace and tenant:
 *
 * - v1 (active) serves the tenant's jobs on tier S with the `rag-chat@1` prompt (context, then the question);
 * - v2 differs only in tier S's prompt: `rag-chat-no-context@1` (infra/prompts: the negative control, the question
 *   without the retrieved context), a worse prompt version.
 *
 * Jobs about two indexed documents are answered and judged under v1; then the CLI is run as a user would (child
 * process): bad input is refused with a clear error, the dry run says what it would re-run and cost and publishes
 * nothing, and the run re-runs the window under v2 and reports the regression (quality down, answers changed, the
 * largest regressions side by side with both judge scores) in JSON and Markdown, keyed by the version tuple, while the
 * users' jobs keep their v1 answers and the copies are billed to team `shadow`. Every wait is an `eventually`; no
 * wall-clock figure is asserted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { PlatformConfig } from '@llmgov/config';
import { Topics } from '@llmgov/contracts';
import type { ShadowRunReport } from '@llmgov/judging';
import { createKafka, deleteNamespace } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { PolicyRepository, jobRecords } from '@llmgov/persistence';
import { eventually } from '@llmgov/testing';
import { tenantPolicy, type RunningPlatform } from '@llmgov/platform';
import type { ShadowDryRun } from '../src/commands/shadow.js';
import { runCli, startSimPlatform } from './support.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-shrun.${run}.`;
const namespace = `it-shrun-${run}`;
const tenant = `sr-${run}`;
const key = `shrun-key-${run}`;
const DOCS = {
  lighthouse: `The Zorbulon lighthouse ${run} was built in 1847 on the northern cape and guided ships for a century.`,
  volcano: `The Quellmar volcano ${run} last erupted in 1921, covering the valley in ash.`,
};
const QUESTIONS = [
  `When was the Zorbulon lighthouse ${run} built?`,
  `What did the Zorbulon lighthouse ${run} guide for a century?`,
  `Where was the Zorbulon lighthouse ${run} built?`,
  `When did the Quellmar volcano ${run} last erupt?`,
  `What did the Quellmar volcano ${run} cover in ash?`,
  `Which valley did the Quellmar volcano ${run} cover?`,
];

let config: PlatformConfig;
let platform: RunningPlatform | undefined;
let api: string;
let pool: pg.Pool;
let dir: string;

/** The built CLI in this test's policy namespace and Kafka namespace. */
const llmgov = (...args: string[]) =>
  runCli(args, {
    env: { LLMGOV_POLICY_NAMESPACE: namespace, KAFKA_TOPIC_PREFIX: prefix, LLMGOV_USER: 'shadow-run-test', NO_COLOR: '1' },
    timeoutMs: 400_000,
    maxBuffer: 16 * 1024 * 1024,
  });

const http = (method: string, p: string, body?: unknown) =>
  fetch(`${api}${p}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

interface JobJson {
  status: string;
  result: { text: string; retrieved_document_ids: string[]; policy_version: number | null; finish_reason: string; prompt_tokens: number } | null;
  error: unknown;
}

async function submit(prompt: string): Promise<string> {
  const res = await http('POST', '/v1/jobs', {
    prompt,
    team: 'it',
    feature: 'shadow-run',
    options: { max_tokens: 48, rag: true },
    budget: { latency_ms: 120_000 },
  });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

async function final(id: string): Promise<JobJson> {
  return eventually(
    `job ${id} to reach a final state`,
    async () => {
      const job = (await (await http('GET', `/v1/jobs/${id}`)).json()) as JobJson;
      return ['completed', 'failed', 'expired', 'cancelled'].includes(job.status) ? job : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
}

/** The local policy for the test tenant with no caches, and tier S's prompt template `sTemplate`. */
const policy = (sTemplate: string, description: string) =>
  tenantPolicy(tenant, 'shadow-run-test', (document) => {
    document.description = description;
    document.tiers.S!.prompt_template = sTemplate;
    // Every job is answered by its version: no cached answer stands in (a cache hit has no completion to compare).
    for (const slo of Object.values(document.slo_classes)) slo.cache_allowed = false;
  });

before(
  async () => {
    ({ config, platform, api, pool } = await startSimPlatform({ prefix, namespace, tenant, key, basePort: 18960 }));
    dir = mkdtempSync(path.join(tmpdir(), 'llmgov-shadow-run-'));
  },
  { timeout: 240_000 },
);

after(async () => {
  await platform?.stop();
  await deleteNamespace(createKafka(`it-shrun-${run}`, config.KAFKA_BROKERS, createLogger('it', 'error')), prefix).catch(() => undefined);
  await pool?.end();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('llmgov shadow on the running platform (simulator engines)', { timeout: 900_000 }, () => {
  it('re-runs a window of judged jobs under a worse prompt version and reports the regression, with no effect on users', async () => {
    const repo = new PolicyRepository(pool, namespace);
    const v1 = (await repo.apply(policy('rag-chat@1', 'shadow run test: the stable prompt'))).version;
    const v2 = (await repo.apply(policy('rag-chat-no-context@1', 'shadow run test: the prompt without context'))).version;
    await repo.activate(v1, 'shadow-run-test');

    for (const [id, text] of Object.entries(DOCS))
      assert.equal((await http('POST', '/v1/documents', { document_id: `${id}-${run}`, text, title: id })).status, 202);
    const probes: string[] = [];
    for (const id of Object.keys(DOCS))
      await eventually(
        `document ${id} to be retrievable`,
        async () => {
          const probe = await submit(QUESTIONS[id === 'lighthouse' ? 0 : 3]!);
          probes.push(probe);
          const job = await final(probe);
          return job.result?.retrieved_document_ids.includes(`${id}-${run}`) ? true : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
    // The window holds the jobs under test only: it starts once the probes above are judged.
    await eventually('the probes to be judged', async () => ((await jobRecords(pool, probes)).verdicts.size === probes.length ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    const from = new Date().toISOString();
    const ids: string[] = [];
    for (const q of QUESTIONS) ids.push(await submit(q));
    const answers = new Map<string, JobJson>();
    for (const id of ids) {
      const job = await final(id);
      assert.equal(job.status, 'completed', JSON.stringify(job.error));
      assert.equal(job.result?.policy_version, v1);
      answers.set(id, job);
    }
    await eventually(
      'every job judged and billed',
      async () => {
        const r = await jobRecords(pool, ids);
        return r.verdicts.size === ids.length && r.costs.size === ids.length ? r : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const to = new Date(Date.now() + 1000).toISOString();

    // Bad input: a clear error and exit 1, before anything is read or published.
    for (const [args, code] of [
      [['--from', from, '--to', to, '--version', '999'], 'unknown_version'],
      [['--from', to, '--to', from, '--version', String(v2)], 'invalid_window'],
      [['--from', '0:0', '--to', to, '--version', String(v2)], 'invalid_window'],
      [['--to', to, '--version', String(v2)], 'missing_window'],
      [['--from', from, '--to', to], 'invalid_arguments'],
      [['--from', from, '--to', to, '--version', String(v2), '--lookback', '1e9'], 'invalid_arguments'],
      [['--from', from, '--to', to, '--version', String(v2), '--wait', '-3'], 'invalid_arguments'],
      [['--from', "'; DROP TABLE jobs; --", '--to', to, '--version', String(v2)], 'invalid_time'],
    ] as [string[], string][]) {
      const r = await llmgov('shadow', ...args, '--json');
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.equal((JSON.parse(r.stderr) as { error: { code: string } }).error.code, code, `${args.join(' ')}: ${r.stderr}`);
    }
    const sampleZero = await llmgov('shadow', '--from', from, '--to', to, '--version', String(v2), '--sample', '0');
    assert.equal(sampleZero.code, 1);
    assert.match(sampleZero.stderr, /--sample/);

    // The dry run: what it would re-run and cost, nothing published.
    const validatedHigh = async () => {
      const admin = createKafka(`it-shrun-admin-${run}`, config.KAFKA_BROKERS, createLogger('it', 'error')).admin();
      await admin.connect();
      try {
        return (await admin.fetchTopicOffsets(`${prefix}${Topics.inferenceValidated}`)).map((p) => p.high).join(',');
      } finally {
        await admin.disconnect();
      }
    };
    const highBefore = await validatedHigh();
    const dry = await llmgov('shadow', '--from', from, '--to', to, '--version', String(v2), '--tenant', tenant, '--dry-run', '--json');
    assert.equal(dry.code, 0, dry.stderr);
    const d = JSON.parse(dry.stdout) as ShadowDryRun;
    assert.equal(d.judged_jobs, ids.length);
    assert.equal(d.sampled, ids.length);
    assert.equal(d.requests_found, ids.length);
    assert.deepEqual(d.by_tenant, { [tenant]: ids.length });
    assert.deepEqual(d.by_policy_version, { [v1]: ids.length });
    assert.ok(d.baseline_cost_usd > 0 && d.estimated_cost_usd > 0, JSON.stringify(d));
    const sampled = JSON.parse(
      (await llmgov('shadow', '--from', from, '--to', to, '--version', String(v2), '--sample', '4', '--dry-run', '--json')).stdout,
    ) as ShadowDryRun;
    assert.equal(sampled.sampled, 4);
    assert.equal(await validatedHigh(), highBefore, 'a dry run publishes nothing');

    // The run.
    const reportPath = path.join(dir, 'reports', 'v2');
    const res = await llmgov(
      'shadow',
      '--from',
      from,
      '--to',
      to,
      '--version',
      String(v2),
      '--rate',
      '20/s',
      '--wait',
      '300',
      '--report',
      reportPath,
      '--json',
    );
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout) as ShadowRunReport;
    assert.deepEqual(JSON.parse(readFileSync(`${reportPath}.json`, 'utf8')), report);
    const md = readFileSync(`${reportPath}.md`, 'utf8');
    assert.match(md, new RegExp(`^# Shadow run ${report.run_id}$`, 'm'));
    assert.match(md, /## Largest regressions \([1-9]/);

    assert.equal(report.overall.jobs, ids.length);
    assert.equal(report.overall.paired, ids.length, `not judged: ${report.not_judged.join(', ')}`);
    assert.ok(report.overall.delta.mean_quality < 0, `quality delta ${report.overall.delta.mean_quality}`);
    assert.ok(report.overall.answers_changed > 0);
    assert.ok(report.regressions.length > 0);
    for (const g of report.regressions) {
      assert.ok(g.quality_delta < 0 || (g.baseline.verdict === 'PASS' && g.candidate.verdict !== 'PASS'));
      assert.equal(typeof g.baseline.quality, 'number');
      assert.equal(typeof g.candidate.quality, 'number');
      assert.notEqual(g.baseline.text, g.candidate.text);
      assert.ok(ids.includes(g.job_id));
    }
    // Grouped by tenant, route and intent (the local policy's classifier names the intent of each question).
    assert.ok(report.groups.length >= 1);
    assert.ok(
      report.groups.every((g) => g.tenant === tenant && g.route === 'squad-qa'),
      JSON.stringify(report.groups),
    );
    assert.equal(
      report.groups.reduce((n, g) => n + g.paired, 0),
      ids.length,
    );
    assert.equal((report.versions.candidate as { policy_version: number }).policy_version, v2);
    assert.equal((report.versions.candidate as { prompt_templates: Record<string, string> }).prompt_templates.S, 'rag-chat-no-context@1');
    assert.deepEqual((report.versions.baseline as { policy_versions: number[] }).policy_versions, [v1]);
    assert.equal((report.versions.baseline as { prompt_templates: Record<string, Record<string, string>> }).prompt_templates[String(v1)]!.S, 'rag-chat@1');
    assert.match(report.key, /^[0-9a-f]{16}$/);

    // No effect on users: the jobs keep their v1 answers; the copies are billed to team shadow under derived job ids.
    for (const id of ids) assert.deepEqual((await final(id)).result, answers.get(id)!.result);
    const ledger = await pool.query<{ job_id: string; team: string }>('SELECT job_id, team FROM cost_ledger WHERE job_id LIKE $1', [
      `shadow:${report.run_id}:%`,
    ]);
    assert.equal(new Set(ledger.rows.map((r) => r.job_id)).size, ids.length);
    assert.ok(ledger.rows.every((r) => r.team === 'shadow'));
  });
});
