/**
 * No job stays non-final: against the real local stack, with ingest-validator running as a process and no other
 * service, so jobs stay where the test leaves them until the dead-letter projection or the expiry sweeper ends them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { loadPlatformConfig } from '@llmgov/config';
import { Topics, dlqTopic } from '@llmgov/contracts';
import { DlqHeaders, createKafka } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { jobInFinalState } from '@llmgov/testing';
import { bootstrapPlatform, repoRoot, spawnManaged, type ManagedProcess } from '@llmgov/platform';

const KEY = 'test-key-finality-0001';
const run = randomUUID().slice(0, 8);
const PORT = 18290;
let service: ManagedProcess;
let kafka: Kafka;
let producer: Producer;

interface Job {
  id: string;
  status: string;
  stage: string | null;
  error: { code: string; message: string } | null;
}

const api = (method: string, p: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${PORT}${p}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

const submit = async (latencyMs: number): Promise<string> => {
  const res = await api('POST', '/v1/jobs', {
    prompt: `Who wrote the finality test ${run}?`,
    budget: { latency_ms: latencyMs, max_cost_usd: 0.05, min_quality: 0.5 },
  });
  assert.equal(res.status, 202);
  return ((await res.json()) as Job).id;
};

const finalJob = (id: string): Promise<Job> =>
  jobInFinalState(id, async () => (await (await api('GET', `/v1/jobs/${id}`)).json()) as Job, { timeoutMs: 60_000, intervalMs: 100 });

describe('job finality', () => {
  before(async () => {
    const config = loadPlatformConfig();
    await bootstrapPlatform(config);
    service = await spawnManaged({
      name: 'ingest-validator-finality',
      script: path.join(repoRoot(), 'services/ingest-validator/dist/src/main.js'),
      env: {
        HTTP_PORT: String(PORT),
        API_KEYS: `tenant-fin-${run}=${KEY}`,
        KAFKA_GROUP_ID: `it-fin-${run}`,
        JOB_SWEEP_INTERVAL_MS: '200',
        JOB_EXPIRY_GRACE_MS: '1000',
        LOG_LEVEL: 'warn',
      },
      port: PORT,
      logDir: path.join(repoRoot(), '.local', 'logs', 'test'),
      readyPath: '/health/ready',
      readyTimeoutMs: 90_000,
    });
    kafka = createKafka(`it-fin-${run}`, config.KAFKA_BROKERS, createLogger('it', 'error'));
    producer = kafka.producer();
    await producer.connect();
  });
  after(async () => {
    await producer?.disconnect();
    await service?.stop();
  });

  it('a request dead-lettered by a later stage fails its job with the DLQ reason, once', async () => {
    const id = await submit(600_000);
    const headers = {
      [DlqHeaders.service]: 'router',
      [DlqHeaders.sourceTopic]: Topics.inferenceValidated,
      [DlqHeaders.errorCode]: 'retrieval_unavailable',
      [DlqHeaders.errorMessage]: 'retrieval failed: vector store answered 500',
    };
    // The bytes need not decode: the key names the job. Sent twice, as a redelivery would.
    const record = { key: id, value: Buffer.from('not avro'), headers };
    await producer.send({ topic: dlqTopic(Topics.inferenceValidated), messages: [record, record] });
    const job = await finalJob(id);
    assert.equal(job.status, 'failed');
    assert.equal(job.stage, 'router');
    assert.equal(job.error?.code, 'retrieval_unavailable');
    assert.match(job.error?.message ?? '', /router dead-lettered the request from inference\.request\.validated\.v1: retrieval failed/);
  });

  it('a job nobody finishes is expired by the sweeper after its deadline and grace', async () => {
    const id = await submit(100);
    const job = await finalJob(id);
    assert.equal(job.status, 'expired');
    assert.equal(job.error?.code, 'deadline_exceeded');
    assert.equal(job.stage, 'sweeper');
  });

  it('a job with a long budget is left alone by the sweeper', async () => {
    const id = await submit(600_000);
    const short = await submit(100);
    await finalJob(short); // the sweeper has run at least once since both were created
    const job = (await (await api('GET', `/v1/jobs/${id}`)).json()) as Job;
    assert.equal(job.status, 'validating');
  });
});
