/**
 * A real service through a real Redis outage (issue 12 §4): the cost-attributor (its usage handler writes the ledger in
 * Postgres, then settles the tenant's budget counters in Redis) in its own Kafka namespace, with Redis stopped and
 * started by infra/local's own scripts.
 *
 * What the platform does, and what this test holds it to: every service that uses Redis registers it as a readiness
 * dependency (libs/persistence PersistenceModule), and the Kafka runtime suspends the service's consumers while a
 * dependency is down; a record whose retries run out meanwhile waits for it instead of being dead-lettered (ADR 0010,
 * point 2). So a Redis outage the probe sees dead-letters nothing in a real service; `dependency` dead letters come
 * from outages a probe does not see (the vector store, the registry, a store that flaps between probes), and their
 * redrive with one effect each is tools/llmgov/test/dlq.int.spec.ts (a probe-less consumer) and
 * tools/platform/test/dlq-auto-redrive.int.spec.ts (the cost-attributor's own automatic redrive).
 *
 * Here: usage events billed before the outage; a burst published just before Redis is stopped; more usage events (and a duplicate of a billed one) while
 * it is down; the service reports Redis failing and holds its partitions; Redis started; then every usage event has
 * exactly one ledger row, the tenant's day counter holds exactly their sum (each settled once, the duplicate not
 * at all), and no dead letter was written, so `llmgov dlq redrive --cause dependency` has nothing to redrive.
 * Every wait is an `eventually`; no sleep, no wall-clock assertion.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Kafka, Producer } from 'kafkajs';
import { usageCostUsd, usdToMicroUsd, type ModelPrice } from '@llmgov/billing';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { Topics } from '@llmgov/contracts';
import { DeadLetterReader, TopicNamespace, createAvroSerde, createKafka, deleteNamespace, type AvroSerde } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { BudgetReservations, RedisBudgetLimits, createPgPool, createRedis, type Pool, type Redis } from '@llmgov/persistence';
import { bootstrapPlatform, repoRoot, startPlatform, type RunningPlatform } from '@llmgov/platform';
import { eventually } from '@llmgov/testing';

const exec = promisify(execFile);
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.js');
const ROOT = repoRoot();
const run = randomUUID().slice(0, 8);
const prefix = `it-dlq-svc.${run}.`;
const ns = new TopicNamespace(prefix);
const tenant = `ro-${run}`;
const enabled = Boolean(process.env.KAFKA_BROKERS && process.env.SCHEMA_REGISTRY_URL && process.env.DATABASE_URL && process.env.REDIS_URL);

/** A model the catalog does not list: billed at the catalog's default API price, so each event's cost is known here. */
const MODEL = `ro-unlisted-${run}`;
const TOKENS = { prompt_tokens: 500, completion_tokens: 50 };
const catalogDefault = (JSON.parse(readFileSync(path.join(ROOT, 'services/cost-attributor/price-catalog/v2.json'), 'utf8')) as { default: ModelPrice }).default;
const costMicroUsd = usdToMicroUsd(usageCostUsd(catalogDefault, { ...TOKENS, gpu_seconds: 0 }));
const fixture = JSON.parse(readFileSync(path.join(ROOT, 'schemas/fixtures/billing.usage.recorded.v1/valid-completion.json'), 'utf8')) as Record<
  string,
  unknown
>;

let config: PlatformConfig;
let platform: RunningPlatform | undefined;
let kafka: Kafka;
let producer: Producer;
let serde: AvroSerde;
let pool: Pool;
let redis: Redis;

/** Stops or starts the local Redis with infra/local's own scripts. */
async function redisStack(action: 'down' | 'up'): Promise<void> {
  await exec('bash', [path.join(ROOT, 'infra/local', `${action}.sh`), '--only', 'redis'], { cwd: ROOT, maxBuffer: 8 << 20 });
}

const usage = () => ({
  ...fixture,
  ...TOKENS,
  event_id: randomUUID(),
  job_id: randomUUID(),
  tenant_id: tenant,
  occurred_at: Date.now(),
  model: MODEL,
  team: 'qa',
  feature: 'outage-it',
  route: null,
  gpu_seconds: 0,
  usd_per_gpu_hour: null,
  policy_version: null,
});

async function publish(values: Record<string, unknown>[]): Promise<void> {
  const messages = await Promise.all(values.map(async (v) => ({ key: tenant, value: await serde.encode(Topics.usageRecorded, v) })));
  await producer.send({ topic: ns.wire(Topics.usageRecorded), acks: -1, messages });
}

/** Ledger rows per usage event id. */
async function ledgerRows(eventIds: string[]): Promise<Map<string, number>> {
  const r = await pool.query<{ usage_event_id: string; n: string }>(
    'SELECT usage_event_id, count(*)::text AS n FROM cost_ledger WHERE usage_event_id = ANY($1) GROUP BY usage_event_id',
    [eventIds],
  );
  return new Map(r.rows.map((row) => [row.usage_event_id, Number(row.n)]));
}

async function daySpent(): Promise<number | undefined> {
  const budgets = new BudgetReservations(redis, { limits: new RedisBudgetLimits(redis) });
  const { counters } = await budgets.snapshot(tenant);
  return counters.find((c) => c.scope.kind === 'tenant' && c.period === 'day')?.spentMicroUsd;
}

async function serviceGet(p: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${platform!.services.get('cost-attributor')!.url}${p}`);
  return { status: res.status, text: await res.text() };
}

before(
  async () => {
    if (!enabled) return;
    config = { ...loadPlatformConfig(), KAFKA_TOPIC_PREFIX: prefix };
    await bootstrapPlatform(config);
    kafka = createKafka(`it-dlq-svc-${run}`, config.KAFKA_BROKERS, createLogger('it', 'error'));
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    serde = createAvroSerde(config.SCHEMA_REGISTRY_URL);
    pool = createPgPool(config.DATABASE_URL, { max: 2 });
    redis = createRedis(config.REDIS_URL);
    redis.on('error', () => undefined); // the outage reaches this client as rejected commands
    platform = await startPlatform({
      config,
      basePort: 18820,
      engines: false,
      services: ['cost-attributor'],
      restart: false,
      logDir: path.join(ROOT, '.local', 'logs', 'test'),
      // Short in-process retries, so a record that fails on Redis runs out of them during the outage: the point where a
      // runtime without the dependency wait would dead-letter it.
      env: { LOG_LEVEL: 'warn', KAFKA_RETRY_INITIAL_MS: '20', KAFKA_RETRY_MAX_MS: '100', KAFKA_HANDLER_MAX_ATTEMPTS: '2', DLQ_AUTO_REDRIVE_HEALTHY_MS: '1000' },
    });
  },
  { timeout: 240_000 },
);

after(async () => {
  if (enabled) await redisStack('up').catch(() => undefined); // never leave the stack without Redis
  await platform?.stop();
  await producer?.disconnect().catch(() => undefined);
  if (kafka) await deleteNamespace(kafka, prefix).catch(() => undefined);
  redis?.disconnect();
  await pool?.end().catch(() => undefined);
});

describe('a real service through a Redis outage', { skip: enabled ? false : 'the local stack is needed', timeout: 300_000 }, () => {
  it('the cost-attributor holds its usage events while Redis is down, dead-letters none, and bills each exactly once after', async (t) => {
    const early = [usage(), usage()];
    await publish(early);
    await eventually('the usage before the outage is billed and counted', async () => (await daySpent()) === early.length * costMicroUsd, {
      timeoutMs: 60_000,
    });

    // A burst published just before the stop, not awaited: billed before, during or after the outage (some are caught
    // in flight by it, as the diagnostic's `retried` shows when they are), exactly once each whichever it is.
    const burst = Array.from({ length: 50 }, usage);
    await publish(burst);
    await redisStack('down');
    await eventually(
      'the service reports Redis failing and its consumer suspended',
      async () => {
        const ready = await serviceGet('/health/ready');
        const paused = /^kafka_paused_partitions\{[^}]*topic="[^"]*billing\.usage\.recorded\.v1"[^}]*\} ([1-9]\d*)$/m.exec((await serviceGet('/metrics')).text);
        return ready.status === 503 && /"redis":\{"ok":false/.test(ready.text) && paused !== null;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    // During the outage: new usage, and a redelivered copy of an event billed before it.
    const during = [usage(), usage(), usage(), usage()];
    await publish([...during, { ...early[0]! }]);

    await redisStack('up');
    const all = [...early, ...burst, ...during].map((v) => v.event_id);
    const rows = await eventually(
      'every usage event is billed once Redis is back',
      async () => {
        const m = await ledgerRows(all);
        return m.size === all.length ? m : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    assert.deepEqual(
      [...rows.values()].filter((n) => n !== 1),
      [],
      'one ledger row per usage event',
    );
    // Each settled once: the counter is the ledger's sum, the duplicate added nothing.
    const spent = await eventually('the day counter holds every settlement', async () => {
      const s = await daySpent();
      return s !== undefined && s >= all.length * costMicroUsd ? s : undefined;
    });
    assert.equal(spent, all.length * costMicroUsd);

    // Nothing was dead-lettered: the outage was the service's dependency, not the records' fault.
    const dead: unknown[] = [];
    await new DeadLetterReader({ kafka, namespace: ns }).scan({ topics: [Topics.usageRecorded] }, (r) => void dead.push(r));
    assert.deepEqual(dead, []);
    const dry = await exec(process.execPath, [MAIN, 'dlq', 'redrive', '--cause', 'dependency', '--topic', Topics.usageRecorded, '--dry-run', '--json'], {
      env: { ...process.env, KAFKA_TOPIC_PREFIX: prefix, LOG_LEVEL: 'error' },
    });
    const plan = JSON.parse(dry.stdout) as { matched: number; to_redrive: number; estimated_cost: { micro_usd: number } };
    assert.deepEqual([plan.matched, plan.to_redrive, plan.estimated_cost.micro_usd], [0, 0, 0]);

    const metrics = (await serviceGet('/metrics')).text;
    const consumed = (outcome: string) =>
      [...metrics.matchAll(/^kafka_messages_consumed_total\{([^}]*)\} (\S+)$/gm)]
        .filter((m) => m[1]!.includes(`outcome="${outcome}"`) && /topic="[^"]*billing\.usage\.recorded\.v1"/.test(m[1]!))
        .reduce((n, m) => n + Number(m[2]), 0);
    assert.equal(consumed('dlq'), 0);
    t.diagnostic(
      `usage events: ${all.length} billed once each (${costMicroUsd} micro-USD each), day counter ${spent}; handler outcomes: success ${consumed('success')}, skipped ${consumed('skipped')}, retried ${consumed('retried')}, dlq 0`,
    );
  });
});
