/**
 * Replay spend goes through the live budget path (issue 12 §1): `llmgov replay --target reprocess` of inference requests
 * whose jobs never ran, against the real ingest-validator, router, inference-worker (simulated engines) and
 * cost-attributor in their own Kafka namespace, under a policy applied and activated in their own policy namespace.
 *
 * The jobs re-run because the intake never handled the originals: the services start with `KAFKA_FROM_BEGINNING=false`
 * (a live group started at the latest offsets) after the originals were written, so there is no job row and the intake
 * forwards each copy (it skips only a copy whose job has moved past `validating`). Two tenants of this run only:
 * - `rich` (5 USD a day): each replayed job is reserved by the router (`job:<job id>:1`), run, billed in the cost ledger
 *   as feature `replay` (the original feature kept in the request's metadata), and its reservation settled to the bill;
 * - `broke` (a `refuse` day budget exactly as large as one earlier usage event, billed by the cost-attributor before the
 *   replay, so spent = limit): the router's reservation is refused, so the replay spends nothing: no reservation held
 *   or settled, no ledger row for the replayed jobs, the day counter unchanged, each job failed `budget_exceeded`.
 * Every wait is an `eventually`; no wall-clock figure is asserted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kafka, Producer } from 'kafkajs';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { Topics, type InferenceRequestSubmitted } from '@llmgov/contracts';
import { microUsdToUsd, usageCostUsd, usdToMicroUsd, type ModelPrice } from '@llmgov/billing';
import { createAvroSerde, createKafka, deleteNamespace, type AvroSerde } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import {
  BudgetReservations,
  PolicyRepository,
  RedisBudgetLimits,
  createPgPool,
  createRedis,
  jobReservationId,
  type Pool,
  type Redis,
} from '@llmgov/persistence';
import { parsePolicyText, policyTemplateRefs, templateFileName } from '@llmgov/policy';
import { bootstrapPlatform, repoRoot, startPlatform, type RunningPlatform } from '@llmgov/platform';
import { eventually } from '@llmgov/testing';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.js');
const ROOT = repoRoot();
const run = randomUUID().slice(0, 8);
const prefix = `it-rpb.${run}.`;
const policyNamespace = `it-replay-budget-${run}`;
const rich = `rpb-${run}-rich`;
const broke = `rpb-${run}-broke`;
/** The earlier spend that exhausts `broke`'s budget: a usage event of a model the catalog does not list, so billed at its default API price. */
const EARLIER = { model: `rpb-unlisted-${run}`, prompt_tokens: 1000, completion_tokens: 100 };
const catalogDefault = (JSON.parse(readFileSync(path.join(ROOT, 'services/cost-attributor/price-catalog/v2.json'), 'utf8')) as { default: ModelPrice }).default;
const earlierMicroUsd = usdToMicroUsd(usageCostUsd(catalogDefault, { ...EARLIER, gpu_seconds: 0 }));
const enabled = Boolean(process.env.KAFKA_BROKERS && process.env.SCHEMA_REGISTRY_URL && process.env.DATABASE_URL && process.env.REDIS_URL);

let config: PlatformConfig;
let platform: RunningPlatform | undefined;
let kafka: Kafka;
let producer: Producer;
let serde: AvroSerde;
let pool: Pool;
let redis: Redis;
const originals = new Map<string, InferenceRequestSubmitted[]>();

interface LedgerRow {
  job_id: string;
  tenant_id: string;
  feature: string;
  team: string;
  route: string;
  kind: string;
  cost_micro_usd: string;
}

function llmgov(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: { ...process.env, KAFKA_TOPIC_PREFIX: prefix, LLMGOV_USER: 'replay-budget-test', NO_COLOR: '1' }, timeout: 120_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** The local policy with its tenants replaced by this run's two (the routes of tenant-a) and their day budgets. */
async function activatePolicy(): Promise<number> {
  const document = parsePolicyText(readFileSync(path.join(ROOT, 'infra/policies/local.yaml'), 'utf8'), 'local.yaml');
  document.tenants = { [rich]: document.tenants['tenant-a']!, [broke]: structuredClone(document.tenants['tenant-a']!) };
  document.budgets = [
    { tenant: rich, period: 'day', limit_usd: 5, alert_at: 0.8, throttle: 'refuse' },
    { tenant: broke, period: 'day', limit_usd: microUsdToUsd(earlierMicroUsd), alert_at: 0.8, throttle: 'refuse' },
  ];
  const templates = policyTemplateRefs(document).map((ref) => ({
    ...ref,
    content: JSON.parse(readFileSync(path.join(ROOT, 'infra/prompts', templateFileName(ref)), 'utf8')) as Record<string, unknown>,
  }));
  const repo = new PolicyRepository(pool, policyNamespace);
  const { version } = await repo.apply({ document, templates, created_by: 'replay-budget.int.spec' });
  await repo.activate(version, 'replay-budget.int.spec');
  return version;
}

function request(tenant: string, i: number): InferenceRequestSubmitted {
  const jobId = randomUUID();
  return {
    event_id: randomUUID(),
    tenant_id: tenant,
    // Submitted an hour ago with a 2-minute latency budget: only a replay that restarts the budget can re-run it.
    occurred_at: Date.now() - 3600_000,
    schema_version: 2,
    correlation_id: jobId,
    job_id: jobId,
    idempotency_key: null,
    prompt: `Replay budget question ${i} of ${tenant}: who were the Normans?`,
    system_prompt: null,
    budget: { latency_ms: 120_000, max_cost_usd: 0.05, min_quality: 0.5 },
    options: { max_tokens: 16, temperature: 0, rag: false, tier_hint: null },
    team: 'qa',
    feature: 'support-bot',
    metadata: {},
    route: null,
  };
}

async function ledger(jobIds: string[]): Promise<LedgerRow[]> {
  const { rows } = await pool.query<LedgerRow>(
    'SELECT job_id, tenant_id, feature, team, route, kind, cost_micro_usd::text FROM cost_ledger WHERE job_id = ANY($1) ORDER BY job_id',
    [jobIds],
  );
  return rows;
}

async function jobStates(
  jobIds: string[],
): Promise<Map<string, { state: string; result: Record<string, unknown> | null; error: Record<string, unknown> | null }>> {
  const { rows } = await pool.query<{ job_id: string; state: string; result: Record<string, unknown> | null; error: Record<string, unknown> | null }>(
    'SELECT job_id::text, state, result, error FROM jobs WHERE job_id = ANY($1::uuid[])',
    [jobIds],
  );
  return new Map(rows.map((r) => [r.job_id, r]));
}

/** Records of the submitted topic the ingest-validator's intake skipped (its `kafka_messages_consumed_total`). */
async function intakeSkipped(): Promise<number> {
  const text = await (await fetch(`${platform!.services.get('ingest-validator')!.url}/metrics`)).text();
  return [...text.matchAll(/^kafka_messages_consumed_total\{([^}]*)\} (\S+)$/gm)]
    .filter(
      (m) =>
        m[1]!.includes('outcome="skipped"') &&
        new RegExp(`topic="(${prefix.replaceAll('.', '\\.')})?${Topics.inferenceSubmitted.replaceAll('.', '\\.')}"`).test(m[1]!),
    )
    .reduce((n, m) => n + Number(m[2]), 0);
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'expired']);

before(
  async () => {
    if (!enabled) return;
    config = { ...loadPlatformConfig(), KAFKA_TOPIC_PREFIX: prefix };
    await bootstrapPlatform(config);
    kafka = createKafka(`it-rpb-${run}`, config.KAFKA_BROKERS, createLogger('it', 'error'));
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    serde = createAvroSerde(config.SCHEMA_REGISTRY_URL);
    pool = createPgPool(config.DATABASE_URL, { max: 2 });
    redis = createRedis(config.REDIS_URL);
    await activatePolicy();
    // The originals, written before any service of this namespace consumes: the intake's group will start after them.
    for (const [tenant, n] of [
      [rich, 3],
      [broke, 2],
    ] as const) {
      const sent = Array.from({ length: n }, (_, i) => request(tenant, i));
      originals.set(tenant, sent);
      for (const v of sent)
        await producer.send({
          topic: prefix + Topics.inferenceSubmitted,
          acks: -1,
          messages: [{ key: v.job_id, value: await serde.encode(Topics.inferenceSubmitted, v) }],
        });
    }
    platform = await startPlatform({
      config,
      basePort: 19000,
      logDir: path.join(ROOT, '.local', 'logs', 'test'),
      services: ['ingest-validator', 'router', 'inference-worker', 'cost-attributor'],
      policy: true,
      restart: false,
      env: {
        LOG_LEVEL: 'warn',
        POLICY_NAMESPACE: policyNamespace,
        API_KEYS: `${rich}=rpb-${run}-key-rich,${broke}=rpb-${run}-key-broke`,
        // A live group that starts at the latest offsets never sees the originals: the case a replay re-runs.
        KAFKA_FROM_BEGINNING: 'false',
        DLQ_AUTO_REDRIVE: 'false',
      },
    });
  },
  { timeout: 300_000 },
);

after(async () => {
  await platform?.stop();
  if (kafka) await deleteNamespace(kafka, prefix).catch(() => undefined);
  await producer?.disconnect().catch(() => undefined);
  redis?.disconnect();
  await pool?.end().catch(() => undefined);
});

describe(
  'replay spend goes through the budget reservations and is billed as the replay feature',
  { skip: enabled ? false : 'the local stack is needed', timeout: 420_000 },
  () => {
    it('re-runs a tenant’s jobs the intake never handled: reserved by the router, billed as `replay`, settled to the bill', async (t) => {
      const sent = originals.get(rich)!;
      const jobIds = sent.map((v) => v.job_id);
      // What the test stands on: the services never handled the originals.
      assert.equal((await jobStates(jobIds)).size, 0, 'no job row before the replay');
      assert.deepEqual(await ledger(jobIds), []);

      const res = await llmgov('replay', '--topic', prefix + Topics.inferenceSubmitted, '--tenant', rich, '--target', 'reprocess', '--json');
      assert.equal(res.code, 0, res.stderr);
      const report = JSON.parse(res.stdout) as { state: string; matched: number; republished: number };
      assert.deepEqual([report.state, report.matched, report.republished], ['completed', sent.length, sent.length]);

      const rows = await eventually(
        'every replayed job is billed',
        async () => {
          const r = await ledger(jobIds);
          return r.length >= sent.length ? r : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 1000 },
      );
      assert.deepEqual(rows.map((r) => r.job_id).sort(), [...jobIds].sort(), 'one ledger row per job');
      for (const r of rows) assert.deepEqual([r.tenant_id, r.feature, r.team, r.kind], [rich, 'replay', 'qa', 'COMPLETION'], JSON.stringify(r));

      // The router reserved each job's worst case before dispatch, and the cost-attributor settled it to the bill.
      const budgets = new BudgetReservations(redis, { limits: new RedisBudgetLimits(redis) });
      for (const r of rows) {
        const settled = await eventually(`the reservation of job ${r.job_id} is settled`, async () => {
          const got = await budgets.get(rich, jobReservationId(r.job_id, 1));
          return got?.state === 'settled' ? got : undefined;
        });
        assert.equal(settled.jobId, r.job_id);
        assert.equal(settled.actualMicroUsd, Number(r.cost_micro_usd), 'settled to the ledger cost');
        assert.ok(settled.amountMicroUsd > 0 && settled.actualMicroUsd! <= settled.amountMicroUsd, 'the bill is within the worst case reserved');
        assert.ok(
          settled.scopes.some((s) => s.kind === 'tenant'),
          JSON.stringify(settled.scopes),
        );
      }
      // The tenant's day counter holds what the ledger billed: the replay's spend counts against the tenant's budget.
      const { counters } = await budgets.snapshot(rich);
      const tenantDay = counters.find((c) => c.scope.kind === 'tenant' && c.period === 'day');
      assert.equal(
        tenantDay?.spentMicroUsd,
        rows.reduce((n, r) => n + Number(r.cost_micro_usd), 0),
      );
      // Answered: `finalizing` once the worker completed it (no judge runs here to move it on to `completed`).
      const jobs = await jobStates(jobIds);
      assert.ok(
        [...jobs.values()].every((j) => j.state === 'finalizing' || j.state === 'completed'),
        JSON.stringify([...jobs.values()].map((j) => j.state)),
      );
      t.diagnostic(`billed ${rows.map((r) => r.cost_micro_usd).join(', ')} micro-USD as feature replay; tenant day counter ${tenantDay?.spentMicroUsd}`);

      // Replayed again, what is done stays done: the intake skips each copy (its job is past `validating`), nothing more
      // is reserved or billed.
      const skippedBefore = await intakeSkipped();
      const again = await llmgov('replay', '--topic', prefix + Topics.inferenceSubmitted, '--tenant', rich, '--json');
      assert.equal(again.code, 0, again.stderr);
      // The second replay reads the first one's copies too (same tenant): each original and each copy is republished.
      const republished = (JSON.parse(again.stdout) as { republished: number }).republished;
      assert.equal(republished, 2 * sent.length);
      await eventually('the intake skips every copy of the second replay', async () => (await intakeSkipped()) >= skippedBefore + republished, {
        timeoutMs: 120_000,
        intervalMs: 500,
      });
      assert.deepEqual(await ledger(jobIds), rows, 'no second bill');
      assert.equal(
        (await budgets.snapshot(rich)).counters.find((c) => c.scope.kind === 'tenant' && c.period === 'day')?.spentMicroUsd,
        tenantDay?.spentMicroUsd,
      );
    });

    it('a tenant whose refuse budget is exhausted gets no replay spend', async (t) => {
      const sent = originals.get(broke)!;
      const jobIds = sent.map((v) => v.job_id);
      assert.equal((await jobStates(jobIds)).size, 0, 'no job row before the replay');

      // Exhaust the budget with real spend: a usage event billed by the cost-attributor (ledger row, day counter).
      const earlier = {
        ...(JSON.parse(readFileSync(path.join(ROOT, 'schemas/fixtures/billing.usage.recorded.v1/valid-completion.json'), 'utf8')) as Record<string, unknown>),
        ...EARLIER,
        event_id: randomUUID(),
        job_id: randomUUID(),
        tenant_id: broke,
        occurred_at: Date.now(),
        team: 'qa',
        feature: 'support-bot',
        route: 'squad-qa',
        gpu_seconds: 0,
        usd_per_gpu_hour: null,
        policy_version: null,
      };
      await producer.send({
        topic: prefix + Topics.usageRecorded,
        acks: -1,
        messages: [{ key: broke, value: await serde.encode(Topics.usageRecorded, earlier) }],
      });
      const budgets = new BudgetReservations(redis, { limits: new RedisBudgetLimits(redis) });
      const dayCounter = async () => (await budgets.snapshot(broke)).counters.find((c) => c.scope.kind === 'tenant' && c.period === 'day');
      await eventually('the earlier usage is billed and counted: the budget is spent', async () => (await dayCounter())?.spentMicroUsd === earlierMicroUsd, {
        timeoutMs: 60_000,
      });

      const res = await llmgov('replay', '--topic', prefix + Topics.inferenceSubmitted, '--tenant', broke, '--json');
      assert.equal(res.code, 0, res.stderr);
      assert.equal((JSON.parse(res.stdout) as { republished: number }).republished, sent.length);

      // The copies are re-run (a job row each), and each job ends without a model call.
      const jobs = await eventually(
        'the replayed jobs of the broke tenant end',
        async () => {
          const j = await jobStates(jobIds);
          return j.size === sent.length && [...j.values()].every((x) => TERMINAL.has(x.state)) ? j : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
      for (const [id, j] of jobs) {
        // Refused by the budget: either failed budget_exceeded, or the route's fixed answer (no model call).
        const text = JSON.stringify(j);
        assert.ok(
          (j.state === 'failed' && j.error?.code === 'budget_exceeded') || (j.state === 'completed' && j.result?.finish_reason === 'template'),
          `${id}: ${text}`,
        );
        assert.match(text, /budget_reservation_refused/, `${id}: the decision names the refused reservation`);
        assert.match(text, new RegExp(`spent ${microUsdToUsd(earlierMicroUsd).toFixed(6)}`), `${id}: refused on the spent budget`);
      }
      for (const id of jobIds) assert.equal(await budgets.get(broke, jobReservationId(id, 1)), undefined, 'nothing reserved');
      assert.deepEqual(await ledger(jobIds), [], 'nothing billed');
      const { rows } = await pool.query<{ feature: string; cost_micro_usd: string }>(
        'SELECT feature, cost_micro_usd::text FROM cost_ledger WHERE tenant_id = $1',
        [broke],
      );
      assert.deepEqual(rows, [{ feature: 'support-bot', cost_micro_usd: String(earlierMicroUsd) }], 'the earlier usage only: no replay spend');
      assert.equal((await dayCounter())?.spentMicroUsd, earlierMicroUsd, 'the day counter did not move');
      t.diagnostic(`broke tenant jobs: ${[...jobs.values()].map((j) => `${j.state} ${JSON.stringify(j.error ?? j.result?.finish_reason)}`).join('; ')}`);
    });
  },
);
