/**
 * Replay in reprocess mode against a running ingest-validator (its own Kafka namespace, real Kafka, registry and
 * Postgres): `llmgov replay` republishes two submitted requests; the one whose job is already done has no second
 * effect (nothing forwarded), the one whose job never got past intake is forwarded again, billed as the replay feature.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import { loadPlatformConfig } from '@llmgov/config';
import { Topics, type InferenceRequestSubmitted, type InferenceRequestValidated } from '@llmgov/contracts';
import { AvroSerde, ReplayHeaders, createKafka, deleteNamespace, deterministicEventId, headersToStrings } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { createPgPool, type Pool } from '@llmgov/persistence';
import { eventually, waitForCommitted } from '@llmgov/testing';
import { bootstrapPlatform, repoRoot, spawnManaged, type ManagedProcess } from '@llmgov/platform';

const run8 = randomUUID().slice(0, 8);
const prefix = `rpfx-${run8}.`;
const tenant = `rpfx-${run8}`;
const KEY = `test-key-rpfx-${run8}`;
const GROUP = `it-rpfx-${run8}`;
const PORT = 18292;
const LLMGOV = path.join(repoRoot(), 'tools/llmgov/dist/src/main.js');
const submittedTopic = `${prefix}${Topics.inferenceSubmitted}`;
const validatedTopic = `${prefix}${Topics.inferenceValidated}`;

/** Every record of `topic` up to its current end (transaction markers count towards the end). */
async function readAll(kafka: Kafka, topic: string): Promise<{ partition: number; message: KafkaMessage; headers: Record<string, string> }[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]));
  const out: { partition: number; message: KafkaMessage; headers: Record<string, string> }[] = [];
  if (remaining.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `test-scan-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((resolve) =>
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const { partition, lastOffset } = e.payload as { partition: number; lastOffset: string };
      const end = remaining.get(partition);
      if (end !== undefined && BigInt(lastOffset) + 1n >= end) remaining.delete(partition);
      if (remaining.size === 0) resolve();
    }),
  );
  await consumer.run({ eachMessage: async ({ partition, message }) => void out.push({ partition, message, headers: headersToStrings(message.headers) }) });
  await done;
  await consumer.disconnect();
  return out;
}

describe('replay in reprocess mode: what is already done stays done', () => {
  let service: ManagedProcess;
  let kafka: Kafka;
  let producer: Producer;
  let serde: AvroSerde;
  let pool: Pool;
  const config = loadPlatformConfig();

  before(async () => {
    await bootstrapPlatform({ ...config, KAFKA_TOPIC_PREFIX: prefix });
    service = await spawnManaged({
      name: `ingest-validator-rpfx`,
      script: path.join(repoRoot(), 'services/ingest-validator/dist/src/main.js'),
      env: { HTTP_PORT: String(PORT), API_KEYS: `${tenant}=${KEY}`, KAFKA_GROUP_ID: GROUP, KAFKA_TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn' },
      port: PORT,
      logDir: path.join(repoRoot(), '.local', 'logs', 'test'),
      readyPath: '/health/ready',
      readyTimeoutMs: 90_000,
    });
    kafka = createKafka(`it-rpfx-${run8}`, config.KAFKA_BROKERS, createLogger('it', 'error'));
    producer = kafka.producer();
    await producer.connect();
    serde = new AvroSerde(new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }));
    pool = createPgPool(config.DATABASE_URL, { max: 2 });
  });

  after(async () => {
    await producer?.disconnect();
    await service?.stop();
    await pool?.query('DELETE FROM jobs WHERE tenant_id = $1', [tenant]).catch(() => undefined);
    await pool?.query('DELETE FROM replays WHERE topic = $1', [submittedTopic]).catch(() => undefined);
    await pool?.end();
    if (kafka) await deleteNamespace(kafka, prefix).catch(() => undefined);
  });

  it('a done job has no second effect; a job stuck at intake runs again, billed as the replay feature', async () => {
    const requests: InferenceRequestSubmitted[] = ['done', 'stuck'].map((name) => {
      const jobId = randomUUID();
      return {
        event_id: randomUUID(),
        tenant_id: tenant,
        occurred_at: Date.now(),
        schema_version: 2,
        correlation_id: jobId,
        job_id: jobId,
        idempotency_key: null,
        prompt: `Which job is ${name}?`,
        system_prompt: null,
        budget: { latency_ms: 600_000, max_cost_usd: 0.05, min_quality: 0.5 },
        options: { max_tokens: 16, temperature: 0, rag: false, tier_hint: null },
        team: null,
        feature: 'qa',
        metadata: {},
        route: null,
      };
    });
    const [done, stuck] = requests as [InferenceRequestSubmitted, InferenceRequestSubmitted];
    for (const r of requests)
      await producer.send({ topic: submittedTopic, messages: [{ key: r.job_id, value: await serde.encode(Topics.inferenceSubmitted, r) }] });

    const validatedOf = async (jobId: string) => {
      const all = await readAll(kafka, validatedTopic);
      return Promise.all(all.filter((r) => r.message.key?.toString() === jobId).map((r) => serde.decode<InferenceRequestValidated>(r.message.value)));
    };
    for (const r of requests)
      await eventually(`job ${r.job_id} forwarded once`, async () => (await validatedOf(r.job_id)).length === 1, { timeoutMs: 60_000, intervalMs: 250 });
    // The pipeline finished the first job (no router runs here: the test moves it on); the second never got past intake.
    await pool.query(`UPDATE jobs SET state = 'completed', completed_at = now() WHERE job_id = $1`, [done.job_id]);

    const { stdout } = await promisify(execFile)(process.execPath, [LLMGOV, 'replay', '--topic', submittedTopic, '--tenant', tenant, '--json'], {
      env: { ...process.env, KAFKA_TOPIC_PREFIX: prefix },
    });
    const report = JSON.parse(stdout) as { replay_id: string; republished: number };
    assert.equal(report.republished, 2);

    // Wait until ingest-validator has handled both copies (its group committed past them).
    const copies = (await readAll(kafka, submittedTopic)).filter((r) => r.headers[ReplayHeaders.replayId] === report.replay_id);
    assert.equal(copies.length, 2);
    for (const c of copies) await waitForCommitted(kafka, `${prefix}${GROUP}`, submittedTopic, c.partition, c.message.offset, 60_000);

    const doneValidated = await validatedOf(done.job_id);
    assert.equal(doneValidated.length, 1, 'the done job was not forwarded again');
    assert.equal(doneValidated[0]!.feature, 'qa');

    const stuckValidated = await validatedOf(stuck.job_id);
    assert.equal(stuckValidated.length, 2, 'the job that never got past intake ran again');
    assert.equal(stuckValidated[1]!.feature, 'replay', 'its spend is billed as the replay feature');
    assert.equal(stuckValidated[1]!.metadata['replay.original_feature'], 'qa');
    assert.equal(stuckValidated[1]!.event_id, deterministicEventId(stuck.event_id, 'validated'), 'keyed by the original event id');
    const job = await pool.query<{ state: string }>('SELECT state FROM jobs WHERE job_id = $1', [done.job_id]);
    assert.equal(job.rows[0]?.state, 'completed');
  });
});
