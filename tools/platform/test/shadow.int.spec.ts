/**
 * Shadow mode (issue 11 §4, ADR 0009) on the real platform: ingest-validator, router, inference worker, judge,
 * cost-attributor and feedback-labeler on the sim engines, under their own KAFKA_TOPIC_PREFIX, policy namespace and a
 * tenant of this run only.
 *
 * - v1 (stable): the local policy: the tenant's default route (squad-qa, SLO class `standard`) is served by tier S.
 * - v2 (the shadow): the same route bound to an SLO class that allows tier M only, so its copies are told apart.
 *
 * v2 goes into shadow at 100 %; jobs submitted over HTTP must each get a judged shadow answer (job `shadow:<job id>`,
 * flagged shadow, policy_version v2, tier M), while every user-visible result (GET /v1/jobs/:id and the jobs table)
 * stays v1's on tier S; no budget reservation exists for a copy (while the user jobs have theirs), the copies' spend is
 * in the ledger under team `shadow`; and `llmgov policy shadow-report --json` shows both versions with paired samples.
 * Every wait is an `eventually`; no wall-clock figure is asserted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Topics, shadowJobId, type InferenceJudged, type InferenceRequestRouted } from '@llmgov/contracts';
import { BudgetKeys, PolicyRepository, createRedis, type ShadowReport } from '@llmgov/persistence';
import { bearerJsonApi, eventually, jobInFinalState } from '@llmgov/testing';
import { repoRoot, tenantPolicy } from '../src/index.js';
import { PlatformTestStack } from './support/stack.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-shd.${run}.`;
const namespace = `it-shadow-${run}`;
const tenant = `sh-${run}`;
const KEY = `test-key-shadow-${run}`;
const ROUTED = [Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL] as const;
const JOBS = 6;

const stack = new PlatformTestStack(prefix, `it-shd-${run}`);
let api: string;
let repo: PolicyRepository;
const routed = new Map<string, InferenceRequestRouted>();
const judged = new Map<string, InferenceJudged>();

function policy(shadow: boolean) {
  return tenantPolicy(tenant, 'shadow-test', (document) => {
    // A real budget, so that the user's jobs do reserve (and the test can see that the copies do not).
    document.budgets = [{ tenant, period: 'day', limit_usd: 100, alert_at: 0.8, throttle: 'degrade' }];
    if (!shadow) return;
    document.description = 'shadow candidate: the default route on tier M only';
    document.slo_classes.standard_m_only = { ...document.slo_classes.standard!, allowed_tiers: ['M'], max_cost_usd: 0.05, min_quality: 0 };
    document.tenants[tenant]!.routes['squad-qa']!.slo_class = 'standard_m_only';
  });
}

const http = bearerJsonApi(() => api, KEY);

interface JobJson {
  id: string;
  status: string;
  result: { text: string; tier: string; policy_version: number | null } | null;
  error: unknown;
}

async function submit(i: number): Promise<string> {
  const res = await http('POST', '/v1/jobs', {
    prompt: `When was the observatory of run ${run} founded (question ${i}, ${randomUUID()})?`,
    team: 'it',
    feature: 'shadow',
    // No retrieval (this run indexes no documents); a generous deadline for a busy 2-core machine.
    options: { max_tokens: 32, rag: false },
    budget: { latency_ms: 120_000 },
  });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

async function final(id: string): Promise<JobJson> {
  return jobInFinalState(id, async () => (await (await http('GET', `/v1/jobs/${id}`)).json()) as JobJson, { timeoutMs: 120_000, intervalMs: 250 });
}

/** Runs the built llmgov CLI in this test's policy namespace. */
function llmgov(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot(), 'tools/llmgov/dist/src/main.js'), ...args],
      { env: { ...process.env, LLMGOV_POLICY_NAMESPACE: namespace, LLMGOV_USER: 'shadow-test', NO_COLOR: '1' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

before(
  async () => {
    await stack.open({ producer: false });
    repo = new PolicyRepository(stack.pool, namespace);
    await stack.consume([...ROUTED, Topics.inferenceJudged], async (name, value) => {
      if (name === Topics.inferenceJudged) {
        const ev = await stack.serde.decode<InferenceJudged>(value);
        if (ev.tenant_id === tenant) judged.set(ev.job_id, ev);
      } else {
        const ev = await stack.serde.decode<InferenceRequestRouted>(value);
        if (ev.tenant_id === tenant) routed.set(ev.job_id, ev);
      }
    });
  },
  { timeout: 120_000 },
);

after(() => stack.close());

describe('a shadow of a version at 100 %', { timeout: 600_000 }, () => {
  it('judges a shadow answer for every job while the user sees the stable answer, reserves nothing for the copies, and reports both versions', async (t) => {
    const v1 = (await repo.apply(policy(false))).version;
    const v2 = (await repo.apply(policy(true))).version;
    await repo.activate(v1, 'shadow-test');

    const platform = await stack.start({
      basePort: 18900,
      services: ['ingest-validator', 'router', 'inference-worker', 'judge', 'cost-attributor', 'feedback-labeler'],
      env: { POLICY_NAMESPACE: namespace, API_KEYS: `${tenant}=${KEY}`, LOG_LEVEL: 'warn' },
    });
    api = platform.services.get('ingest-validator')!.url;
    // Start-up: a first job answered end to end under the stable version.
    const warm = await final(await submit(0));
    assert.equal(warm.status, 'completed', JSON.stringify(warm.error));

    const shadow = await repo.startShadow(v2, 100, 'shadow-test', 'tier M candidate');
    assert.equal(shadow.mode, 'shadow');
    // The routers apply it within 5 s: wait for a first copy, then submit the jobs under test.
    const probes: string[] = [];
    await eventually(
      'the router to copy a job under the shadow version',
      async () => {
        probes.push(await submit(-probes.length - 1));
        return probes.find((id) => routed.has(shadowJobId(id)));
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );

    const ids: string[] = [];
    for (let i = 1; i <= JOBS; i++) ids.push(await submit(i));
    const jobs = await Promise.all(ids.map(final));

    // Every user-visible result is the stable version's, on its tier S, over the API and in the jobs table.
    for (const job of jobs) {
      assert.equal(job.status, 'completed', JSON.stringify(job.error));
      assert.equal(job.result?.policy_version, v1);
      assert.equal(job.result?.tier, 'S');
    }
    const rows = await stack.pool.query<{ job_id: string; state: string; result: { policy_version: number; tier: string } }>(
      'SELECT job_id::text, state, result FROM jobs WHERE job_id = ANY($1::uuid[])',
      [ids],
    );
    assert.equal(rows.rows.length, JOBS);
    for (const r of rows.rows) {
      assert.equal(r.state, 'completed');
      assert.equal(r.result.policy_version, v1);
      assert.equal(r.result.tier, 'S');
    }

    // Each job has a judged shadow answer: shadow:<job id>, flagged, decided by v2 on tier M; the user job's own verdict is v1's.
    const copies = await eventually(
      'a judged shadow answer for every job',
      () => Promise.resolve(ids.every((id) => judged.has(shadowJobId(id)) && judged.has(id)) ? ids.map((id) => judged.get(shadowJobId(id))!) : undefined),
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    for (const [i, c] of copies.entries()) {
      assert.equal(c.shadow, true);
      assert.equal(c.policy_version, v2);
      assert.equal(c.tier, 'M');
      assert.equal(routed.get(shadowJobId(ids[i]!))?.team, 'shadow');
      assert.equal(judged.get(ids[i]!)?.shadow, false);
      assert.equal(judged.get(ids[i]!)?.policy_version, v1);
    }

    // No reservation for a copy; the user jobs have theirs (kept as a tombstone once settled).
    const redis = createRedis(stack.config.REDIS_URL);
    try {
      const keys = await redis.keys(`${BudgetKeys.prefix(tenant)}r:*`);
      t.diagnostic(`reservation keys of the tenant: ${keys.length}`);
      assert.ok(
        keys.every((k) => !k.includes('shadow')),
        `no reservation of a shadow copy: ${keys.filter((k) => k.includes('shadow')).join(', ')}`,
      );
      for (const id of ids) assert.ok(keys.includes(BudgetKeys.reservation(tenant, `job:${id}:1`)), `job ${id} reserved`);
    } finally {
      redis.disconnect();
    }
    // The copies' spend is in the ledger under team `shadow` (visible in the roll-ups), the users' under their team.
    const ledger = await eventually(
      'every completion of both variants to be billed',
      async () => {
        const r = await stack.pool.query<{ job_id: string; team: string }>(
          "SELECT job_id, team FROM cost_ledger WHERE tenant_id = $1 AND kind = 'COMPLETION'",
          [tenant],
        );
        return ids.every((id) => r.rows.some((x) => x.job_id === id) && r.rows.some((x) => x.job_id === shadowJobId(id))) ? r.rows : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    for (const row of ledger) assert.equal(row.team, row.job_id.startsWith('shadow:') ? 'shadow' : 'it', row.job_id);

    // The report compares both versions on the same jobs.
    const report = await eventually(
      'the shadow report to pair every job',
      async () => {
        const r = await llmgov('policy', 'shadow-report', '--json');
        assert.equal(r.code, 0, r.stderr);
        const parsed = JSON.parse(r.stdout) as ShadowReport & { experiment: { id: number } };
        return parsed.paired >= JOBS && parsed.stable.cost_samples >= JOBS && parsed.shadow.cost_samples >= JOBS ? parsed : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    t.diagnostic(`shadow report: ${JSON.stringify(report)}`);
    assert.equal(report.experiment.id, shadow.id);
    assert.equal(report.stable.policy_version, v1);
    assert.equal(report.shadow.policy_version, v2);
    for (const f of [report.stable, report.shadow]) {
      assert.ok(f.samples >= JOBS, `${f.variant}: ${f.samples} judged samples`);
      assert.ok(f.mean_quality !== null && f.mean_quality >= 0 && f.mean_quality <= 1);
      assert.ok(f.pass_rate !== null && f.pass_rate >= 0 && f.pass_rate <= 1);
      assert.ok(f.cost_per_request_usd !== null && f.cost_per_request_usd > 0);
      assert.ok(f.p95_latency_ms !== null && f.p95_latency_ms >= 0 && f.latency_samples >= JOBS);
    }
    assert.ok(report.paired_differ >= 0 && report.paired_differ <= report.paired);
    const table = await llmgov('policy', 'shadow-report');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^shadow #${shadow.id}: version ${v2} on 100% of jobs next to version ${v1}`, 'm'));
    assert.match(table.stdout, /paired jobs \(judged on both sides\): \d+; answers differ: \d+; verdicts differ: \d+/);

    // Ending the shadow keeps its report; routers stop copying.
    const ended = await llmgov('policy', 'shadow', '--abort', '--comment', 'seen enough');
    assert.equal(ended.code, 0, ended.stderr);
    assert.match(ended.stdout, new RegExp(`^ended the shadow of version ${v2}`));
    assert.equal((await repo.active())?.shadow, null);
  });
});
