/**
 * The cascade of issue 11 §2 end to end: the real router, inference worker, judge (no JUDGE_CASCADE: the policy's
 * escalation block turns the cascade on) and cost-attributor on the sim engines, under their own KAFKA_TOPIC_PREFIX and
 * policy namespace, with a tenant of this run only. The policy is the local one with escalation allowed once on the `standard` class (squad-qa: tiers S and M,
 * min_quality 0.5). A request without RAG gets the sim's no-context sentence, which the judge scores below 0.5, so:
 * attempt 1 is routed to S, the judge escalates it to M as attempt 2 (same job id, a new event id, the escalation reason
 * appended), and, M answering the same sentence, the job is finalised after the maximum with both tiers listed.
 * Every wait is an `eventually`; no wall-clock figure is asserted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { Topics, schemaVersionOf, type InferenceRequestRouted, type InferenceRequestValidated, type JobStatusChanged, type TopicName } from '@llmgov/contracts';
import { AvroSerde, createKafka, deleteNamespace, newEnvelope } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { PolicyRepository, migrate } from '@llmgov/persistence';
import { parsePolicyText, policyTemplateRefs, templateFileName, type PolicyDocument } from '@llmgov/policy';
import { eventually } from '@llmgov/testing';
import { bootstrapPlatform, repoRoot, startPlatform, type RunningPlatform } from '../src/index.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-casc.${run}.`;
const namespace = `it-cascade-${run}`;
const tenant = `cs-${run}`;
const ROUTED = [Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL] as const;

let config: PlatformConfig;
let platform: RunningPlatform | undefined;
let kafka: Kafka;
let producer: Producer;
let consumer: Consumer;
let serde: AvroSerde;
let pool: pg.Pool;
const routed: InferenceRequestRouted[] = [];
const finished = new Map<string, JobStatusChanged>();

function policy() {
  const document: PolicyDocument = parsePolicyText(readFileSync(path.join(repoRoot(), 'infra/policies/local.yaml'), 'utf8'), 'local.yaml');
  document.tenants = { [tenant]: document.tenants['tenant-a']! };
  document.budgets = [];
  document.slo_classes.standard!.escalation = { allowed: true, max_escalations: 1 };
  const templates = policyTemplateRefs(document).map((ref) => ({
    ...ref,
    content: JSON.parse(readFileSync(path.join(repoRoot(), 'infra/prompts', templateFileName(ref)), 'utf8')) as Record<string, unknown>,
  }));
  return { document, templates, created_by: 'cascade-test' };
}

async function sendJob(): Promise<string> {
  const id = `cs-job-${randomUUID()}`;
  const value: InferenceRequestValidated = {
    ...newEnvelope(tenant, id, schemaVersionOf(Topics.inferenceValidated)),
    job_id: id,
    idempotency_key: null,
    prompt: `When was the observatory of run ${run} founded (probe ${id})?`,
    system_prompt: null,
    budget: { latency_ms: 120_000, max_cost_usd: 0.05, min_quality: 0.5 },
    options: { max_tokens: 32, temperature: 0, rag: false, tier_hint: null },
    team: 'it',
    feature: 'cascade',
    metadata: {},
    prompt_hash: id,
    injection_score: 0,
    pii_masked_count: 0,
    route: null,
  };
  await producer.send({ topic: `${prefix}${Topics.inferenceValidated}`, messages: [{ key: id, value: await serde.encode(Topics.inferenceValidated, value) }] });
  return id;
}

before(
  async () => {
    config = { ...loadPlatformConfig(), KAFKA_TOPIC_PREFIX: prefix };
    await bootstrapPlatform(config);
    await migrate(config.DATABASE_URL);
    pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
    kafka = createKafka(`it-casc-${run}`, config.KAFKA_BROKERS, createLogger('it', 'error'));
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    serde = new AvroSerde(new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }));
    consumer = kafka.consumer({ groupId: `${prefix}probe`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [...ROUTED, Topics.jobStatus].map((t) => `${prefix}${t}`), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const name = topic.slice(prefix.length) as TopicName;
        if (name === Topics.jobStatus) {
          const ev = await serde.decode<JobStatusChanged>(message.value);
          if (ev.tenant_id === tenant && (ev.state === 'completed' || ev.state === 'failed')) finished.set(ev.job_id, ev);
        } else {
          const ev = await serde.decode<InferenceRequestRouted>(message.value);
          if (ev.tenant_id === tenant) routed.push(ev);
        }
      },
    });
  },
  { timeout: 120_000 },
);

after(async () => {
  await platform?.stop();
  await consumer?.disconnect();
  await producer?.disconnect();
  await deleteNamespace(kafka, prefix).catch(() => undefined);
  await pool?.end();
});

describe('the quality cascade on the sim engines', { timeout: 600_000 }, () => {
  it('escalates a low S answer to M as attempt 2 of the same job and lists both tiers in the result', async (t) => {
    const repo = new PolicyRepository(pool, namespace);
    const version = (await repo.apply(policy())).version;
    await repo.activate(version, 'cascade-test');
    platform = await startPlatform({
      config,
      basePort: 18860,
      policy: true,
      services: ['router', 'inference-worker', 'judge', 'cost-attributor'],
      logDir: path.join(repoRoot(), '.local', 'logs', 'test'),
      // No JUDGE_CASCADE: the escalation block of the class the job's route binds to turns the cascade on.
      env: { POLICY_NAMESPACE: namespace, LOG_LEVEL: 'warn' },
    });
    // Start-up: the first consumer-group assignments can take a while, so jobs are sent until one finishes.
    const sent: string[] = [];
    const done = await eventually(
      'a job of this run to be finalised',
      async () => {
        if (sent.length < 5) sent.push(await sendJob());
        return sent.map((id) => finished.get(id)).find((s) => s !== undefined);
      },
      { timeoutMs: 300_000, intervalMs: 2000 },
    );
    const attempts = routed.filter((r) => r.job_id === done.job_id).sort((a, b) => a.attempt - b.attempt);
    t.diagnostic(`job ${done.job_id}: ${attempts.map((a) => `attempt ${a.attempt} on ${a.tier}`).join(', ')}; result ${JSON.stringify(done.result)}`);
    assert.equal(done.state, 'completed');
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.tier]),
      [
        [1, 'S'],
        [2, 'M'],
      ],
    );
    assert.notEqual(attempts[0]!.event_id, attempts[1]!.event_id);
    assert.equal(attempts[1]!.policy_version, version);
    assert.deepEqual(attempts[1]!.decision_reasons, [...attempts[0]!.decision_reasons, 'quality_below_min→escalate_M']);
    assert.deepEqual(done.result!.decision_reasons.slice(-2), ['escalation_stopped:max_escalations_reached', 'tiers_tried:S,M']);
    const judgeMetrics = await (await fetch(`${platform.services.get('judge')!.url}/metrics`)).text();
    assert.match(judgeMetrics, /^judge_escalations_total\{from_tier="S",to_tier="M",service="judge"\} [1-9]/m);
  });
});
