/**
 * Budget reservations end to end against the real local stack (Kafka, schema registry, Postgres, Redis): the real
 * cost-attributor runs as a child process in its own Kafka namespace (KAFKA_TOPIC_PREFIX), this test reserves through
 * BudgetReservations as eight router instances would, then publishes the jobs' usage and terminal states, and checks
 * from outside (Redis, the ledger tables, the budget alert topic, /metrics) that:
 * - 300 concurrent reservations against a budget that fits 50 reserve exactly 50 (no check-then-increment overshoot);
 * - once every job is billed or ended, reserved is back to 0 and every spent counter equals the ledger (no phantom
 *   reservations), and the budget refuses what would take spent past it;
 * - an injected drift of a spent counter above the ledger is repaired by the reconciliation loop, with its metric.
 * Needs `infra/local/up.sh` and `.local/stack.env`; skipped without KAFKA_BROKERS / DATABASE_URL / REDIS_URL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { Topics, type BudgetAlert, type JobStatusChanged, type UsageRecorded } from '@llmgov/contracts';
import { AvroSerde, createKafka, deleteNamespace, deterministicEventId, newEnvelope } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { worstCaseCost } from '@llmgov/billing';
import {
  BudgetKeys,
  BudgetReservations,
  RedisBudgetLimits,
  createPgPool,
  createRedis,
  jobReservationId,
  judgeReservationId,
  periodParts,
  type Pool,
  type Redis,
} from '@llmgov/persistence';
import { eventually, waitForRecord } from '@llmgov/testing';
import { bootstrapPlatform, repoRoot, startPlatform, type RunningPlatform } from '@llmgov/platform';
import { CostLedgerRepository } from '../src/repositories/cost-ledger.repository.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-budget.${run}.`;
const tenant = `bs-${run}`;
/** The tenant of the LLM-judge bill test: its own counters. */
const judgeTenant = `bs-${run}-judge`;
const TEAM = 'search';
const ROUTE = 'support-faq';
const enabled = Boolean(process.env.KAFKA_BROKERS && process.env.DATABASE_URL && process.env.REDIS_URL);

describe(
  'budget reservations settled and released by the cost-attributor',
  { skip: enabled ? false : 'the local stack is not configured', timeout: 240_000 },
  () => {
    let config: PlatformConfig;
    let platform: RunningPlatform | undefined;
    let kafka: Kafka;
    let producer: Producer;
    let serde: AvroSerde;
    let redis: Redis;
    let routers: Redis[] = [];
    let pool: Pool;
    let ledger: CostLedgerRepository;
    let budgets: BudgetReservations;

    before(async () => {
      const live = loadPlatformConfig();
      config = { ...live, KAFKA_TOPIC_PREFIX: prefix };
      await bootstrapPlatform(config); // namespaced topics, schemas, migrations
      kafka = createKafka(`it-budget-${run}`, live.KAFKA_BROKERS, createLogger('it', 'error'));
      producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      serde = new AvroSerde(new SchemaRegistry({ host: live.SCHEMA_REGISTRY_URL }));
      redis = createRedis(live.REDIS_URL);
      routers = Array.from({ length: 8 }, () => createRedis(live.REDIS_URL));
      pool = createPgPool(live.DATABASE_URL);
      ledger = new CostLedgerRepository(pool);
      const limits = new RedisBudgetLimits(redis);
      budgets = new BudgetReservations(redis, { limits });
      platform = await startPlatform({
        config,
        basePort: 18720,
        engines: false,
        services: ['cost-attributor'],
        logDir: path.join(repoRoot(), '.local', 'logs', 'test'),
        env: { LOG_LEVEL: 'warn', BUDGET_RECONCILE_INTERVAL_MS: '250', BUDGET_COMPLETED_GRACE_MS: '90000' },
      });
    });

    after(async () => {
      await platform?.stop();
      await deleteNamespace(kafka, prefix).catch(() => undefined);
      await producer?.disconnect();
      for (const t of [tenant, judgeTenant]) {
        const keys = await redis.keys(`budget:{${t}}:*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.srem(BudgetKeys.tenants, t);
        await pool.query('DELETE FROM cost_ledger WHERE tenant_id = $1', [t]);
        await pool.query('DELETE FROM cost_rollups WHERE tenant_id = $1', [t]);
      }
      await pool.end();
      for (const r of [redis, ...routers]) r.disconnect();
    });

    const send = async (topic: typeof Topics.usageRecorded | typeof Topics.jobStatus, key: string, value: UsageRecorded | JobStatusChanged) =>
      producer.send({ topic: `${prefix}${topic}`, messages: [{ key, value: await serde.encode(topic, value) }] });

    const usage = (jobId: string | null, gpuSeconds: number, kind: UsageRecorded['kind'] = 'COMPLETION'): UsageRecorded => ({
      ...newEnvelope(tenant, jobId ?? `doc-${run}`),
      event_id: jobId ? deterministicEventId(jobId, '1', 'usage') : randomUUID(),
      job_id: jobId,
      kind,
      model: kind === 'COMPLETION' ? 'local-sim-m' : 'local-hashing-ngram',
      tier: kind === 'COMPLETION' ? 'M' : null,
      pool: null,
      endpoint: null,
      prompt_tokens: kind === 'COMPLETION' ? 40 : 50_000,
      completion_tokens: kind === 'COMPLETION' ? 8 : 0,
      gpu_seconds: gpuSeconds,
      team: jobId ? TEAM : null,
      feature: null,
      route: 'direct',
      policy_version: null,
      e2e_ms: gpuSeconds * 1000,
      queue_ms: null,
      ttft_ms: null,
      tpot_ms: null,
      gpu_type: null,
      usd_per_gpu_hour: kind === 'COMPLETION' ? 3.6 : null,
    });

    const status = (jobId: string, state: JobStatusChanged['state']): JobStatusChanged => ({
      ...newEnvelope(tenant, jobId),
      job_id: jobId,
      state,
      stage: state === 'completed' ? 'judge' : 'inference',
      result: null,
      error: state === 'failed' ? { code: 'engine_error', message: 'it' } : null,
    });

    /** The tenant's counters for today and this month, and the ledger's spend for the same scopes and periods. */
    const countersAndLedger = async () => {
      const snap = await budgets.snapshot(tenant);
      const fromLedger = new Map<string, number>();
      for (const p of periodParts(Date.now())) {
        const [kind, id] = p.split(':') as ['day' | 'month', string];
        for (const s of await ledger.spendByScope(tenant, kind, id))
          fromLedger.set(`${s.kind === 'tenant' ? 'tenant' : `${s.kind}:${encodeURIComponent(s.name)}`}|${p}`, s.microUsd);
      }
      return { snap, fromLedger };
    };

    it('reserves exactly what fits, settles to the ledger, releases the rest, and throttles at the limit', async () => {
      // Worst case of each request: tier M self-hosted at 3.6 USD/h, one sequence, a 1 s deadline: 1 GPU-s = 1 000 micro-USD.
      const worst = worstCaseCost({ kind: 'self_hosted', usd_per_gpu_hour: 3.6 }, { promptTokens: 40, maxTokens: 32 }, { maxNumSeqs: 1, maxCallMs: 1_000 });
      assert.equal(worst.microUsd, 1_000);
      const limit = 50 * worst.microUsd + 500;
      await new RedisBudgetLimits(redis).set(tenant, { kind: 'tenant' }, 'day', limit);
      await new RedisBudgetLimits(redis).set(tenant, { kind: 'route', name: ROUTE }, 'month', 1_000_000);

      const jobs = Array.from({ length: 300 }, () => randomUUID());
      const instances = routers.map((r) => new BudgetReservations(r, { limits: new RedisBudgetLimits(r) }));
      const results = await Promise.all(
        jobs.map((job, i) =>
          instances[i % instances.length]!.reserve({
            reservationId: jobReservationId(job, 1),
            jobId: job,
            tenant,
            team: TEAM,
            route: ROUTE,
            amountMicroUsd: worst.microUsd,
            leaseMs: 300_000,
          }),
        ),
      );
      const admitted = jobs.filter((_, i) => results[i]!.ok);
      assert.equal(admitted.length, 50, 'exactly the 50 that fit were admitted');
      for (const r of results) if (r.status === 'refused') assert.deepEqual(r.refusals[0]?.scope, 'tenant');
      const [todayPart] = periodParts(Date.now());
      assert.equal(Number(await redis.hget(BudgetKeys.counter(tenant, `tenant|${todayPart}`), 'reserved')), 50_000);

      // 40 jobs bill 1 GPU-second (0.001 USD = the reserved amount) and complete; for 10 of them the completion is
      // published before the bill. 5 bill and never report a state. 3 fail without a bill; 2 fail and bill afterwards
      // (released first, then settled late). One unreserved embedding bill (0.001 USD) lands on the tenant only.
      for (const [i, job] of admitted.entries()) {
        if (i < 10) await send(Topics.jobStatus, job, status(job, 'completed'));
        if (i >= 45) await send(Topics.jobStatus, job, status(job, 'failed'));
      }
      // The bills go out once those states were handled: the failed jobs released, the completed ones' leases cut to
      // the grace (90 s, from 300 s).
      await eventually(
        'the failed jobs released and the completed leases shortened',
        async () => {
          const infos = await Promise.all([...admitted.slice(0, 10), ...admitted.slice(45)].map((job) => budgets.get(tenant, jobReservationId(job, 1))));
          const deadline = Date.now() + 90_000;
          return infos.every((r, i) => (i < 10 ? r?.state === 'held' && r.leaseUntil !== null && r.leaseUntil <= deadline : r?.state === 'released'));
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      for (const [i, job] of admitted.entries()) {
        if (i < 45 || i >= 48) await send(Topics.usageRecorded, tenant, usage(job, 1));
        if (i >= 10 && i < 40) await send(Topics.jobStatus, job, status(job, 'completed'));
      }
      await send(Topics.usageRecorded, tenant, usage(null, 0, 'EMBEDDING'));

      const settled = await eventually(
        'every reservation settled or released, and the counters equal to the ledger',
        async () => {
          const { snap, fromLedger } = await countersAndLedger();
          if (snap.held !== 0 || snap.counters.some((c) => c.reservedMicroUsd !== 0)) return false;
          const spent = new Map(snap.counters.filter((c) => c.exists).map((c) => [c.counter, c.spentMicroUsd]));
          if (fromLedger.get(`tenant|${todayPart}`) !== 48_000) return false;
          return JSON.stringify([...spent].sort()) === JSON.stringify([...fromLedger].sort()) ? { spent, fromLedger } : false;
        },
        { timeoutMs: 90_000, intervalMs: 200 },
      );
      assert.equal(settled.spent.get(`tenant|${todayPart}`), 48_000);
      assert.equal(settled.spent.get(`team:${TEAM}|${todayPart}`), 47_000, 'the unreserved embedding has no team');
      assert.equal(settled.spent.get(`route:${ROUTE}|${todayPart}`), 47_000, 'the ledger recorded the route each bill was reserved under');
      assert.ok(settled.spent.get(`tenant|${todayPart}`)! <= limit, 'spent within the budget');
      const metrics = await (await fetch(`${platform!.services.get('cost-attributor')!.url}/metrics`)).text();
      const metric = (name: string, label: string) => Number(new RegExp(`^${name}\\{${label}[^}]*\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? 0);
      assert.deepEqual(
        [
          metric('budget_settlements_total', 'from="held"'),
          metric('budget_settlements_total', 'from="released"'),
          metric('budget_settlements_total', 'from="unreserved"'),
          metric('budget_reservations_released_total', 'state="failed"'),
        ],
        [45, 2, 1, 5],
        'completions settle what they held; failures release, and a late bill still settles',
      );
      assert.ok(metric('budget_completed_leases_shortened_total', '') >= 10, 'completions seen before their bill cut the lease to the grace');

      // 48 000 of 50 500 micro-USD spent: 80 % was crossed, once, and a request that does not fit is refused.
      const alert = await waitForRecord(kafka, `${prefix}${Topics.budgetAlert}`, async (r) => {
        const a = await serde.decode<BudgetAlert>(r.message.value);
        return a.tenant_id === tenant && a.scope === 'tenant' && a.period.length === 10;
      });
      const decoded = await serde.decode<BudgetAlert>(alert.message.value);
      assert.deepEqual([decoded.level, decoded.budget_usd, decoded.spent_usd >= 0.0404], ['WARN_80', 0.0505, true]);
      const over = await budgets.reserve({ reservationId: `over-${run}`, tenant, amountMicroUsd: 2_501, leaseMs: 1_000 });
      assert.equal(over.status, 'refused');
      const fits = await budgets.reserve({ reservationId: `fits-${run}`, tenant, amountMicroUsd: 2_500, leaseMs: 60_000 });
      assert.equal(fits.ok, true);
      await budgets.release(tenant, `fits-${run}`);
    });

    it('the reconciliation loop repairs a spent counter that drifted above the ledger', async () => {
      const [todayPart] = periodParts(Date.now());
      const key = BudgetKeys.counter(tenant, `tenant|${todayPart}`);
      const truth = Number(await redis.hget(key, 'spent'));
      assert.ok(truth > 0);
      const repairedUsd = async () => {
        const metrics = await (await fetch(`${platform!.services.get('cost-attributor')!.url}/metrics`)).text();
        return Number(/^budget_drift_repaired_usd_total\{scope="tenant",direction="down"[^}]*\} (\S+)$/m.exec(metrics)?.[1] ?? 0);
      };
      const before = await repairedUsd();
      await redis.hincrby(key, 'spent', 12_345); // e.g. a double-applied charge: the counter now says more than the ledger
      await eventually('the counter repaired to the ledger', async () => Number(await redis.hget(key, 'spent')) === truth, {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      assert.ok(Math.abs((await repairedUsd()) - before - 0.012345) < 1e-9, 'the drift repaired is counted in USD');
    });

    it("settles an LLM-judge call's bill against the judge's reservation, billed to feature judge on the job's route", async () => {
      const jobId = `job-${run}-judge`;
      const reservationId = judgeReservationId(jobId, 1);
      // The judge's worst case: 30 s of one GPU-hour at 3 USD (services/judge judgeWorstCaseMicroUsd).
      const held = await budgets.reserve({ reservationId, tenant: judgeTenant, team: TEAM, route: ROUTE, amountMicroUsd: 25_000, leaseMs: 120_000, jobId });
      assert.equal(held.ok, true);
      const eventId = deterministicEventId(jobId, '1', 'judge-usage'); // the judge's judgeUsageEventId(job, 1)
      await send(Topics.usageRecorded, judgeTenant, {
        ...newEnvelope(judgeTenant, jobId, 2),
        event_id: eventId,
        job_id: jobId,
        kind: 'JUDGE',
        model: 'gemma-3-270m',
        tier: null,
        pool: 'judge',
        endpoint: 'http://127.0.0.1:18002',
        prompt_tokens: 212,
        completion_tokens: 1,
        gpu_seconds: 2.4,
        team: TEAM,
        feature: 'judge',
        route: ROUTE,
        policy_version: null,
        e2e_ms: 2400,
        queue_ms: null,
        ttft_ms: null,
        tpot_ms: null,
        gpu_type: 'CPU llama.cpp (priced as NVIDIA A100 80GB)',
        usd_per_gpu_hour: 3,
      });
      // 2.4 GPU-seconds at 3 USD per GPU-hour = 0.002 USD = 2000 micro-USD.
      const settled = await eventually('the judge reservation settled', async () => {
        const r = await budgets.get(judgeTenant, reservationId);
        return r?.state === 'settled' ? r : undefined;
      });
      assert.equal(settled.actualMicroUsd, 2000);
      const { rows } = await pool.query<{ feature: string; kind: string; route: string; cost_micro_usd: string }>(
        'SELECT feature, kind, route, cost_micro_usd FROM cost_ledger WHERE usage_event_id = $1',
        [eventId],
      );
      assert.deepEqual(rows, [{ feature: 'judge', kind: 'JUDGE', route: ROUTE, cost_micro_usd: '2000' }]);
      const [today] = periodParts(Date.now());
      const counter = await redis.hgetall(BudgetKeys.counter(judgeTenant, `route:${ROUTE}|${today}`));
      assert.deepEqual([Number(counter.spent), Number(counter.reserved)], [2000, 0], "the route's day counter holds the bill, nothing reserved");
    });
  },
);
