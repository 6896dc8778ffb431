/**
 * Automatic redrive inside a real service (issue 12 §4): the cost-attributor's Kafka runtime redrives the `dependency`
 * dead letters it wrote once its dependencies have been healthy for DLQ_AUTO_REDRIVE_HEALTHY_MS, leaves other
 * services' and other causes' dead letters alone, records the run in Postgres, and the ledger (keyed by the usage
 * event id) holds one row per usage event even when the redriven event had already been accounted.
 * Runs in its own topic namespace (KAFKA_TOPIC_PREFIX).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { Topics } from '@llmgov/contracts';
import { NonRetriableError, RetriableError } from '@llmgov/errors';
import { DeadLetterPublisher, TopicNamespace, createAvroSerde, createKafka, deleteNamespace, type AvroSerde } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { RedriveRepository, createPgPool, type Pool } from '@llmgov/persistence';
import { eventually } from '@llmgov/testing';
import { bootstrapPlatform, repoRoot, startPlatform, type RunningPlatform } from '../src/index.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-redrive.${run}.`;
const ns = new TopicNamespace(prefix);
const usageFixture = JSON.parse(readFileSync(path.join(repoRoot(), 'schemas/fixtures/billing.usage.recorded.v1/valid-completion.json'), 'utf8')) as Record<
  string,
  unknown
>;

let config: PlatformConfig;
let platform: RunningPlatform | undefined;
let kafka: Kafka;
let producer: Producer;
let serde: AvroSerde;
let pool: Pool;

const usage = () => ({ ...usageFixture, event_id: randomUUID(), job_id: randomUUID(), tenant_id: `it-redrive-${run}`, occurred_at: Date.now() });

async function ledgerRows(eventIds: string[]): Promise<Map<string, number>> {
  const r = await pool.query<{ usage_event_id: string; n: string }>(
    'SELECT usage_event_id::text, count(*) AS n FROM cost_ledger WHERE usage_event_id::text = ANY($1) GROUP BY usage_event_id',
    [eventIds],
  );
  return new Map(r.rows.map((row) => [row.usage_event_id, Number(row.n)]));
}

before(async () => {
  config = { ...loadPlatformConfig(), KAFKA_TOPIC_PREFIX: prefix };
  await bootstrapPlatform(config);
  kafka = createKafka(`it-redrive-${run}`, config.KAFKA_BROKERS, createLogger('it', 'error'));
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  serde = createAvroSerde(config.SCHEMA_REGISTRY_URL);
  pool = createPgPool(config.DATABASE_URL, { max: 2 });
});

after(async () => {
  await platform?.stop();
  await producer?.disconnect();
  await deleteNamespace(kafka, prefix).catch(() => undefined);
  await pool?.end();
});

describe('automatic redrive in a service', { timeout: 300_000 }, () => {
  it("redrives the service's own dependency dead letters once healthy, one ledger row per usage event", async () => {
    platform = await startPlatform({
      config,
      basePort: 18670,
      engines: false,
      services: ['cost-attributor'],
      logDir: path.join(repoRoot(), '.local', 'logs', 'test'),
      env: { LOG_LEVEL: 'warn', DLQ_AUTO_REDRIVE_HEALTHY_MS: '1000' },
    });
    const source = ns.wire(Topics.usageRecorded);
    // Accounted once already: its redriven copy must not add a second ledger row.
    const accounted = usage();
    await producer.send({
      topic: source,
      acks: -1,
      messages: [{ key: String(accounted.tenant_id), value: await serde.encode(Topics.usageRecorded, accounted) }],
    });
    await eventually('the first usage event is accounted', async () => (await ledgerRows([accounted.event_id])).get(accounted.event_id) === 1, {
      timeoutMs: 60_000,
    });

    // Dead letters as the runtime writes them (its DeadLetterPublisher): two of the cost-attributor's with cause
    // dependency, one of another service, one of cause validation.
    const lost = usage();
    const otherService = usage();
    const invalid = usage();
    const dlq = (service: string) => new DeadLetterPublisher(producer, service, ns);
    const letter = async (service: string, value: Record<string, unknown>, error: unknown) =>
      dlq(service).send({
        topic: Topics.usageRecorded,
        partition: 0,
        offset: '0',
        key: Buffer.from(String(value.tenant_id)),
        value: await serde.encode(Topics.usageRecorded, value),
        headers: {},
        error,
        attempts: 5,
      });
    await letter('cost-attributor', lost, new RetriableError('postgres: connection refused', 'postgres_unavailable'));
    await letter('cost-attributor', accounted, new RetriableError('redis: connection refused', 'redis_unavailable'));
    await letter('judge', otherService, new RetriableError('redis: connection refused', 'redis_unavailable'));
    await letter('cost-attributor', invalid, new NonRetriableError('bad usage', 'invalid_usage'));

    const repo = new RedriveRepository(pool);
    const mine = async () => (await repo.runs(500)).filter((r) => r.mode === 'automatic' && r.filter.namespace === prefix && r.finished_at !== null);
    // One run, or two when the first tick found one of the dead letters younger than the healthy window.
    const runs = await eventually(
      'the service records automatic redrive runs of both of its dependency dead letters',
      async () => {
        const r = await mine();
        return r.reduce((n, x) => n + x.published, 0) >= 2 ? r : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    for (const r of runs) {
      assert.equal(r.actor, 'automatic-redrive:cost-attributor');
      assert.equal(r.cause, 'dependency');
      assert.equal(r.failed, 0);
    }
    const redriven = (await Promise.all(runs.map((r) => repo.publishedBy(r.redrive_id)))).flat();
    assert.deepEqual(redriven.map((p) => p.event_id).sort(), [lost.event_id, accounted.event_id].sort());

    const rows = await eventually(
      'the redriven usage event is accounted',
      async () => {
        const m = await ledgerRows([lost.event_id, accounted.event_id, otherService.event_id, invalid.event_id]);
        return m.get(lost.event_id) === 1 ? m : undefined;
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(rows.get(accounted.event_id), 1, 'the redriven copy of an accounted event adds no row');
    assert.equal(rows.get(otherService.event_id), undefined, "another service's dead letter is not redriven by this one");
    assert.equal(rows.get(invalid.event_id), undefined, 'a validation dead letter is not redriven automatically');
    const published = (await mine()).reduce((n, x) => n + x.published, 0);
    assert.equal(published, 2, 'no dead letter was redriven twice');
  });
});
