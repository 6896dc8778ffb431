/**
 * Policy rollback test against the real local stack: a RUNNING router service (a child process, as in production)
 * applies each newly activated policy version, and each rollback, within 5 s (issue 10 §1), and the version's budgets
 * are its reservation limits at once (§3). The router runs under its own KAFKA_TOPIC_PREFIX and policy namespace, and
 * every job belongs to a tenant of this run, so nothing live is read or changed.
 *
 * Versions (all the local policy, with tenant-a's routes under the test tenant):
 * - v1: no budget: jobs are routed (the routed event carries policy_version v1);
 * - v2: a 0 USD tenant day budget that degrades: every reservation is refused and the default route's template
 *   answers (the job result carries policy_version v2);
 * - v3: a 0 USD squad-qa day budget that refuses: jobs fail with budget_exceeded, naming the budget and v3.
 * "Within 5 s" is the timeout of each `eventually` after an activation, which includes a probe job's trip through
 * Kafka; no wall-clock figure is asserted.
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
import { BudgetKeys, PolicyRepository, createRedis, migrate } from '@llmgov/persistence';
import { parsePolicyText, policyTemplateRefs, templateFileName, type PolicyBudget, type PolicyDocument } from '@llmgov/policy';
import { eventually } from '@llmgov/testing';
import { bootstrapPlatform, repoRoot, startPlatform, type RunningPlatform } from '../src/index.js';

/** Issue 10: every router applies a newly activated version within 5 s. */
const WITHIN_5_S = 5000;
const run = randomUUID().slice(0, 8);
const prefix = `it-pol.${run}.`;
const namespace = `it-policy-${run}`;
const tenant = `pa-${run}`;
const ROUTED = [Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL] as const;

/** What became of one probe job, as the router published it. */
type Outcome =
  | { kind: 'routed'; version: number | null }
  | { kind: 'answered'; version: number | null; finishReason: string }
  | { kind: 'failed'; code: string; message: string };

let config: PlatformConfig;
let platform: RunningPlatform | undefined;
let kafka: Kafka;
let producer: Producer;
let consumer: Consumer;
let serde: AvroSerde;
let pool: pg.Pool;
let repo: PolicyRepository;
const outcomes = new Map<string, Outcome>();
/** Send time (epoch ms) of each probe job. */
const sent = new Map<string, number>();

function policy(budgets: Omit<PolicyBudget, 'tenant'>[]) {
  const document: PolicyDocument = parsePolicyText(readFileSync(path.join(repoRoot(), 'infra/policies/local.yaml'), 'utf8'), 'local.yaml');
  document.tenants = { [tenant]: document.tenants['tenant-a']! };
  document.budgets = budgets.map((b) => ({ tenant, ...b }));
  const templates = policyTemplateRefs(document).map((ref) => ({
    ...ref,
    content: JSON.parse(readFileSync(path.join(repoRoot(), 'infra/prompts', templateFileName(ref)), 'utf8')) as Record<string, unknown>,
  }));
  return { document, templates, created_by: 'policy-activation-test' };
}

/** Publishes one validated request of the test tenant (default route, no RAG) for the running router. */
async function sendJob(): Promise<string> {
  const jobId = `pa-job-${randomUUID()}`;
  const value: InferenceRequestValidated = {
    ...newEnvelope(tenant, jobId, schemaVersionOf(Topics.inferenceValidated)),
    job_id: jobId,
    idempotency_key: null,
    prompt: `What year was the lighthouse of run ${run} built (probe ${jobId})?`,
    system_prompt: null,
    budget: { latency_ms: 120_000, max_cost_usd: 0.05, min_quality: 0.5 },
    options: { max_tokens: 32, temperature: 0, rag: false, tier_hint: null },
    team: 'it',
    feature: 'policy-activation',
    metadata: {},
    prompt_hash: jobId,
    injection_score: 0,
    pii_masked_count: 0,
    route: null,
  };
  sent.set(jobId, Date.now());
  await producer.send({
    topic: `${prefix}${Topics.inferenceValidated}`,
    messages: [{ key: jobId, value: await serde.encode(Topics.inferenceValidated, value) }],
  });
  return jobId;
}

/**
 * Sends a probe job on every call and resolves when some job sent at or after `since` came out as `want` says: the
 * probe of a newly activated version (jobs sent before the router applied it come out under the old one).
 */
function firstOutcomeSince(since: number, want: (o: Outcome) => boolean): Promise<Outcome> {
  return eventually<Outcome>(
    'a job sent after the activation to come out under the new version',
    async () => {
      await sendJob();
      for (const [jobId, o] of outcomes) if ((sent.get(jobId) ?? 0) >= since && want(o)) return o;
      return undefined;
    },
    { timeoutMs: WITHIN_5_S, intervalMs: 100 },
  );
}

before(
  async () => {
    const live = loadPlatformConfig();
    config = { ...live, KAFKA_TOPIC_PREFIX: prefix };
    await bootstrapPlatform(config);
    await migrate(config.DATABASE_URL);
    pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
    repo = new PolicyRepository(pool, namespace);
    kafka = createKafka(`it-pol-${run}`, config.KAFKA_BROKERS, createLogger('it', 'error'));
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
          if (ev.tenant_id !== tenant) return;
          if (ev.state === 'completed' && ev.result)
            outcomes.set(ev.job_id, { kind: 'answered', version: ev.result.policy_version, finishReason: ev.result.finish_reason });
          else if (ev.state === 'failed' && ev.error) outcomes.set(ev.job_id, { kind: 'failed', code: ev.error.code, message: ev.error.message });
        } else {
          const ev = await serde.decode<InferenceRequestRouted>(message.value);
          if (ev.tenant_id === tenant) outcomes.set(ev.job_id, { kind: 'routed', version: ev.policy_version });
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
  const redis = createRedis(config.REDIS_URL);
  const keys = await redis.keys(`budget:{${tenant}}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.srem(BudgetKeys.tenants, tenant);
  redis.disconnect();
});

describe('a running router follows policy activations and rollbacks', { timeout: 300_000 }, () => {
  it('applies each newly activated version, and each rollback, within 5 s, with its budgets as the reservation limits', async (t) => {
    /** Reports (not asserts) how long after the activation the first job under the new version came out. */
    const report = (what: string, since: number) => t.diagnostic(`${what}: first outcome under the new version ${Date.now() - since} ms after the activation`);
    const v1 = (await repo.apply(policy([]))).version;
    const v2 = (await repo.apply(policy([{ period: 'day', limit_usd: 0, alert_at: 0.8, throttle: 'degrade' }]))).version;
    const v3 = (await repo.apply(policy([{ route: 'squad-qa', period: 'day', limit_usd: 0, alert_at: 0.8, throttle: 'refuse' }]))).version;
    await repo.activate(v1, 'policy-activation-test');

    platform = await startPlatform({
      config,
      basePort: 18700,
      engines: false,
      policy: true,
      services: ['router'],
      logDir: path.join(repoRoot(), '.local', 'logs', 'test'),
      env: { POLICY_NAMESPACE: namespace, LOG_LEVEL: 'warn' },
    });
    // The router starts on v1 (its first load); its consumer group's first assignment can take a while, so this wait is
    // the platform's start-up, not the 5 s under test.
    const start = await eventually(
      'the running router to route a job under v1',
      async () => {
        await sendJob();
        return [...outcomes.values()].find((o) => o.kind === 'routed' && o.version === v1);
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    assert.deepEqual(start, { kind: 'routed', version: v1 });

    // v2: its 0 USD degrade budget refuses every reservation; the default route's template answers under v2.
    let since = Date.now();
    await repo.activate(v2, 'policy-activation-test');
    const degraded = await firstOutcomeSince(since, (o) => o.kind === 'answered' && o.version === v2);
    report(`activate v${v2}`, since);
    assert.deepEqual(degraded, { kind: 'answered', version: v2, finishReason: 'template' });

    // Rollback: v1 again, and with it v1's limits (none): jobs are routed.
    since = Date.now();
    const back = await repo.rollback('policy-activation-test');
    assert.equal(back.version, v1);
    assert.deepEqual(await firstOutcomeSince(since, (o) => o.kind === 'routed' && o.version === v1), { kind: 'routed', version: v1 });
    report(`rollback to v${v1}`, since);

    // v3: a route budget that refuses: jobs fail with budget_exceeded, naming the budget and the version it comes from.
    since = Date.now();
    await repo.activate(v3, 'policy-activation-test');
    // A job the router decided under v1 just before it applied v3 can meet v3's limits at its reservation (the limits
    // in force apply at once, ADR 0007): its message names both versions. The probe waits for a job v3 decided.
    const refused = await firstOutcomeSince(since, (o) => o.kind === 'failed' && o.message.startsWith(`refused by policy version ${v3}:`));
    report(`activate v${v3}`, since);
    assert.equal(refused.kind, 'failed');
    if (refused.kind !== 'failed') return;
    assert.equal(refused.code, 'budget_exceeded');
    assert.match(
      refused.message,
      new RegExp(
        `^refused by policy version ${v3}: .*budget_spent→refuse; budget_exceeded: route:squad-qa day budget \\S+ \\(policy ${namespace} v${v3}\\): limit 0\\.000000 USD`,
      ),
    );

    since = Date.now();
    assert.equal((await repo.rollback('policy-activation-test')).version, v1);
    assert.deepEqual(await firstOutcomeSince(since, (o) => o.kind === 'routed' && o.version === v1), { kind: 'routed', version: v1 });
    report(`rollback to v${v1}`, since);
  });
});
