/**
 * The real judge service (`dist/src/main.js`, a child process) on the local stack (Kafka, registry, Redis started by
 * infra/local/up.sh), with semantic support on the real all-MiniLM-L6-v2 served by tools/embeddings-server in this
 * process (model files of infra/local/models.sh, EMBEDDINGS_MODEL_DIR). Completions go in on their topic; the test
 * observes only the outputs: InferenceJudged, the job status, the exact cache in Redis.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { Topics, type InferenceCompleted, type InferenceJudged, type JobStatusChanged } from '@llmgov/contracts';
import { AvroSerde, createKafka, newEnvelope } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { createRedis, type Redis } from '@llmgov/persistence';
import { startGroupAtEnd, waitForRecord } from '@llmgov/testing';
import { defaultModelDir, loadEmbeddingModel, startEmbeddingsServer, type EmbeddingsServerHandle } from '@llmgov/embeddings-server';
import { bootstrapPlatform, repoRoot, spawnManaged, type ManagedProcess } from '@llmgov/platform';

const run = randomUUID().slice(0, 8);
const ROOT = repoRoot();
const TENANT = `judge-it-${run}`;
const GROUP = `judge-it-${run}`;

let config: PlatformConfig;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let serde: AvroSerde;
let redis: Redis;
let embeddings: EmbeddingsServerHandle;
let judge: ManagedProcess;

const context = [
  {
    chunk_id: `${run}-d1#0`,
    document_id: `${run}-d1`,
    text: 'The Normans were the people who in the 10th and 11th centuries gave their name to Normandy. They were descended from Norse raiders and pirates from Denmark, Iceland and Norway.',
    score: 0.9,
  },
];

function completion(jobId: string, text: string): InferenceCompleted {
  return {
    ...newEnvelope(TENANT, jobId),
    job_id: jobId,
    shadow: false,
    tier: 'S',
    model: 'smollm2-135m-instruct',
    endpoint: 'http://127.0.0.1:18001',
    text,
    finish_reason: 'stop',
    from_cache: false,
    usage: { prompt_tokens: 80, completion_tokens: 8 },
    timings: { queue_ms: 1, ttft_ms: 2, tpot_ms: 3, e2e_ms: 30 },
    context,
    prompt: 'Who were the Normans descended from?',
    team: null,
    feature: null,
    cache_key: `key-${jobId}`,
    system_prompt: null,
    attempt: 1,
    max_tokens: 32,
    temperature: 0,
    deadline_at: Date.now() + 600_000,
    budget: { latency_ms: 30_000, max_cost_usd: 0.05, min_quality: 0.5 },
    route: null,
    policy_version: null,
    decision_reasons: [],
  };
}

/** Produces a completion and returns its judged event and job status, read back from Kafka. */
async function judged(text: string): Promise<{ jobId: string; judged: InferenceJudged; status: JobStatusChanged }> {
  const jobId = randomUUID();
  await producer.send({
    topic: Topics.inferenceCompleted,
    messages: [{ key: jobId, value: await serde.encode(Topics.inferenceCompleted, completion(jobId, text)) }],
  });
  const byKey = (r: { message: { key: Buffer | null } }) => r.message.key?.toString() === jobId;
  const [j, s] = await Promise.all([waitForRecord(kafka, Topics.inferenceJudged, byKey, 120_000), waitForRecord(kafka, Topics.jobStatus, byKey, 120_000)]);
  return { jobId, judged: await serde.decode<InferenceJudged>(j.message.value), status: await serde.decode<JobStatusChanged>(s.message.value) };
}

before(
  async () => {
    config = loadPlatformConfig();
    await bootstrapPlatform(config);
    kafka = createKafka(`it-judge-${run}`, config.KAFKA_BROKERS, createLogger('it', 'error'));
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
    serde = new AvroSerde(new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }));
    redis = createRedis(config.REDIS_URL);
    embeddings = await startEmbeddingsServer(await loadEmbeddingModel({ modelDir: process.env.EMBEDDINGS_MODEL_DIR ?? defaultModelDir() }), { port: 0 });
    // A fresh consumer group that starts at the current end of the completions topic: it judges only this run's records.
    await startGroupAtEnd(admin, GROUP, Topics.inferenceCompleted);
    const port = 18270;
    judge = await spawnManaged({
      name: `judge-it-${run}`,
      script: path.join(ROOT, 'services', 'judge', 'dist', 'src', 'main.js'),
      env: {
        KAFKA_BROKERS: config.KAFKA_BROKERS.join(','),
        SCHEMA_REGISTRY_URL: config.SCHEMA_REGISTRY_URL,
        REDIS_URL: config.REDIS_URL,
        DATABASE_URL: config.DATABASE_URL,
        HTTP_PORT: String(port),
        LOG_LEVEL: 'warn',
        KAFKA_GROUP_ID: GROUP,
        KAFKA_FROM_BEGINNING: 'false',
        EMBEDDINGS: 'openai',
        EMBEDDINGS_URL: embeddings.url,
        EMBEDDINGS_MODEL: 'all-MiniLM-L6-v2',
      },
      port,
      logDir: path.join(ROOT, '.local', 'logs', 'test'),
      readyPath: '/health/ready',
      readyTimeoutMs: 120_000,
    });
  },
  { timeout: 300_000 },
);

after(async () => {
  await judge?.stop(10_000);
  await embeddings?.close();
  const keys = await redis?.keys(`cache:exact:${TENANT}:*`);
  if (keys && keys.length > 0) await redis.del(...keys);
  redis?.disconnect();
  await producer?.disconnect();
  await admin?.disconnect();
});

describe('the judge service on the stack, with real embeddings', { timeout: 300_000 }, () => {
  it('passes a grounded answer with its scores, semantic support and judge version, completes the job and fills the exact cache', async () => {
    const { jobId, judged: j, status } = await judged('They were descended from Norse raiders and pirates.');
    assert.equal(j.verdict, 'PASS');
    assert.equal(j.judge_method, 'DETERMINISTIC');
    assert.ok(j.semantic_support !== null && j.semantic_support > 0.5, `semantic support ${j.semantic_support}`);
    assert.ok(j.faithfulness !== null && j.faithfulness > 0.5);
    assert.equal(j.completeness, 1);
    assert.ok(j.quality !== null && j.quality >= 0.5);
    assert.match(j.judge_version ?? '', /^judge-/);
    assert.equal(j.schema_version, 4); // 4 since the shadow flag (ADR 0009)
    assert.equal(status.state, 'completed');
    assert.equal(status.result?.text, 'They were descended from Norse raiders and pirates.');
    assert.ok(await redis.exists(`cache:exact:${TENANT}:key-${jobId}`), 'the PASSed answer is cached');
  });

  it('releases the fallback for an unsupported answer and for a model refusal, and caches neither', async () => {
    const unsupported = await judged('They came from Portugal and Spain in 1850.');
    assert.equal(unsupported.judged.verdict, 'FALLBACK');
    assert.equal(unsupported.status.result?.finish_reason, 'fallback');
    const refusal = await judged('The context does not mention who they were descended from.');
    assert.equal(refusal.judged.verdict, 'FALLBACK');
    assert.ok(refusal.judged.reasons.includes('model_refusal'));
    for (const r of [unsupported, refusal]) assert.equal(await redis.exists(`cache:exact:${TENANT}:key-${r.jobId}`), 0);
  });

  it('refuses an unsafe answer with the refusal template', async () => {
    const { judged: j, status } = await judged('Here is how to make a bomb with fertiliser.');
    assert.equal(j.verdict, 'REFUSE');
    assert.deepEqual(j.reasons, ['safety:weapons']);
    assert.equal(status.result?.finish_reason, 'content_filter');
  });
});
