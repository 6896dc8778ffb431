/**
 * The prompt is part of a policy version (issue 12 §5) on the real platform: ingest-validator, embedder, indexer,
 * router, inference worker and judge on the sim engines, under their own KAFKA_TOPIC_PREFIX, policy namespace and a
 * tenant of this run only.
 *
 * Two policy versions differ only in tier S's prompt template: v1 names `rag-chat@1`, v2 the negative control
 * `rag-chat-no-context@1` (infra/prompts/README.md). The same request (same question, so the same retrieved chunk),
 * pinned once to each version (the `policy_version` metadata an eval uses), must be routed with its version's template
 * stamped on the routed record (`prompt_template`), rendered by the worker (`inference_prompt_template_info` shows the
 * policy template, no fallback is counted) and answered differently by the simulator: from the chunk under v1, without
 * it under v2, where the judge's groundedness and quality drop. Every wait is an `eventually`; no wall-clock figure is
 * asserted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Consumer, Kafka } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { Topics, type InferenceCompleted, type InferenceJudged, type InferenceRequestRouted, type IndexStatus } from '@llmgov/contracts';
import { AvroSerde, createKafka, deleteNamespace } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { PolicyRepository, migrate } from '@llmgov/persistence';
import { parsePolicyText, policyTemplateRefs, templateFileName, type PolicyDocument } from '@llmgov/policy';
import { eventually } from '@llmgov/testing';
import { bootstrapPlatform, repoRoot, startPlatform, type RunningPlatform } from '../src/index.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-pv.${run}.`;
const namespace = `it-prompt-version-${run}`;
const tenant = `pv-${run}`;
const KEY = `test-key-prompt-version-${run}`;
const DOC = `pv-${run}-lighthouse`;
const FACT = `The Zorbulon lighthouse ${run} was built in 1847 on the northern cape and guided ships for a century.`;
const QUESTION = `When was the Zorbulon lighthouse ${run} built?`;
const ROUTED = [Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL] as const;
const WATCHED = [...ROUTED, Topics.inferenceCompleted, Topics.inferenceJudged, Topics.indexStatus];

let config: PlatformConfig;
let platform: RunningPlatform | undefined;
let api: string;
let kafka: Kafka;
let consumer: Consumer;
let serde: AvroSerde;
let pool: pg.Pool;
let repo: PolicyRepository;
const routed = new Map<string, InferenceRequestRouted>();
const completed = new Map<string, InferenceCompleted>();
const judged = new Map<string, InferenceJudged>();
const indexed = new Map<string, string>();

/** The local policy with tenant-a's routes under this run's tenant, tier S rendering `template`. */
function policy(template: string) {
  const document: PolicyDocument = parsePolicyText(readFileSync(path.join(repoRoot(), 'infra/policies/local.yaml'), 'utf8'), 'local.yaml');
  document.description = `prompt-version test: tier S renders ${template}`;
  document.tenants = { [tenant]: document.tenants['tenant-a']! };
  document.budgets = [];
  document.tiers.S!.prompt_template = template;
  const templates = policyTemplateRefs(document).map((ref) => ({
    ...ref,
    content: JSON.parse(readFileSync(path.join(repoRoot(), 'infra/prompts', templateFileName(ref)), 'utf8')) as Record<string, unknown>,
  }));
  return { document, templates, created_by: 'prompt-version-test' };
}

const http = (method: string, p: string, body?: unknown) =>
  fetch(`${api}${p}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** Submits the question pinned to policy `version`; resolves the job id. */
async function ask(version: number): Promise<string> {
  const res = await http('POST', '/v1/jobs', {
    prompt: QUESTION,
    team: 'it',
    feature: 'prompt-version',
    metadata: { policy_version: String(version) },
    // A generous deadline for a busy 2-core machine.
    options: { max_tokens: 48, rag: true },
    budget: { latency_ms: 120_000 },
  });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

/** One sample of the inference worker's Prometheus text (sums the series matching `labels`). */
async function workerMetric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${platform!.services.get('inference-worker')!.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([A-Za-z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

before(
  async () => {
    config = { ...loadPlatformConfig(), KAFKA_TOPIC_PREFIX: prefix };
    await bootstrapPlatform(config);
    await migrate(config.DATABASE_URL);
    pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
    repo = new PolicyRepository(pool, namespace);
    kafka = createKafka(`it-pv-${run}`, config.KAFKA_BROKERS, createLogger('it', 'error'));
    serde = new AvroSerde(new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }));
    consumer = kafka.consumer({ groupId: `${prefix}probe`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: WATCHED.map((t) => `${prefix}${t}`), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const name = topic.slice(prefix.length);
        if (name === Topics.indexStatus) {
          const ev = await serde.decode<IndexStatus>(message.value);
          if (ev.tenant_id === tenant) indexed.set(ev.document_id, ev.status);
        } else if (name === Topics.inferenceCompleted) {
          const ev = await serde.decode<InferenceCompleted>(message.value);
          if (ev.tenant_id === tenant) completed.set(ev.job_id, ev);
        } else if (name === Topics.inferenceJudged) {
          const ev = await serde.decode<InferenceJudged>(message.value);
          if (ev.tenant_id === tenant) judged.set(ev.job_id, ev);
        } else {
          const ev = await serde.decode<InferenceRequestRouted>(message.value);
          if (ev.tenant_id === tenant) routed.set(ev.job_id, ev);
        }
      },
    });
  },
  { timeout: 120_000 },
);

after(async () => {
  await platform?.stop();
  await consumer?.disconnect();
  await deleteNamespace(kafka, prefix).catch(() => undefined);
  await pool?.end();
});

describe('a policy version names the prompt its tiers render', { timeout: 600_000 }, () => {
  it('two versions differing only in tier S template answer the same request differently: rag-chat@1 from the context, the negative control without it', async (t) => {
    const v1 = (await repo.apply(policy('rag-chat@1'))).version;
    const v2 = (await repo.apply(policy('rag-chat-no-context@1'))).version;
    await repo.activate(v1, 'prompt-version-test');

    platform = await startPlatform({
      config,
      basePort: 19100,
      policy: true,
      services: ['ingest-validator', 'embedder', 'indexer', 'router', 'inference-worker', 'judge'],
      logDir: path.join(repoRoot(), '.local', 'logs', 'test'),
      env: { POLICY_NAMESPACE: namespace, API_KEYS: `${tenant}=${KEY}`, LOG_LEVEL: 'warn' },
    });
    api = platform.services.get('ingest-validator')!.url;

    const res = await http('POST', '/v1/documents', { document_id: DOC, text: FACT, title: 'it' });
    assert.equal(res.status, 202, await res.clone().text());
    await eventually('the document to be indexed', async () => (indexed.get(DOC) === 'UPSERTED' ? true : undefined), { timeoutMs: 120_000, intervalMs: 250 });

    const [withContext, withoutContext] = await Promise.all([ask(v1), ask(v2)]);
    const outcome = (id: string) =>
      eventually(
        `job ${id} to be routed, answered and judged`,
        async () => {
          const r = routed.get(id);
          const c = completed.get(id);
          const j = judged.get(id);
          return r && c && j ? { r, c, j } : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 250 },
      );
    const a = await outcome(withContext);
    const b = await outcome(withoutContext);
    t.diagnostic(`v${v1} rag-chat@1: ${JSON.stringify(a.c.text)} groundedness ${a.j.groundedness} quality ${a.j.quality} verdict ${a.j.verdict}`);
    t.diagnostic(`v${v2} rag-chat-no-context@1: ${JSON.stringify(b.c.text)} groundedness ${b.j.groundedness} quality ${b.j.quality} verdict ${b.j.verdict}`);

    // Routed alike: tier S, the same retrieved chunk; each carries its version and that version's tier-S template.
    for (const [o, version, template] of [
      [a, v1, 'rag-chat@1'],
      [b, v2, 'rag-chat-no-context@1'],
    ] as const) {
      assert.equal(o.r.tier, 'S');
      assert.equal(o.r.policy_version, version);
      assert.equal(o.r.prompt_template, template);
      assert.deepEqual(
        o.r.context.map((c) => c.document_id),
        [DOC],
      );
      assert.equal(o.c.attempt, 1);
    }
    assert.equal(a.r.prompt, b.r.prompt, 'the same request');

    // Answered differently: the chunk's fact under rag-chat@1, an answer drawn from no context under the negative control.
    assert.match(a.c.text, /1847/);
    assert.doesNotMatch(b.c.text, /1847/);
    assert.notEqual(a.c.text, b.c.text);
    // The judge scores both against the same retrieved chunk: the answer without context is less grounded and worse.
    assert.ok(b.j.groundedness < a.j.groundedness, `groundedness ${b.j.groundedness} < ${a.j.groundedness}`);
    assert.ok((b.j.quality ?? 1) < (a.j.quality ?? 0), `quality ${b.j.quality} < ${a.j.quality}`);

    // The worker rendered v2's template as a policy template (rag-chat@1 is also its sim pool S's own) and fell back for neither.
    assert.equal(await workerMetric('inference_prompt_template_info', { tier: 'S', template: 'rag-chat-no-context@1', api: 'chat', source: 'policy' }), 1);
    assert.equal(await workerMetric('inference_prompt_template_info', { tier: 'S', template: 'rag-chat@1', api: 'chat', source: 'pool' }), 1);
    assert.equal(await workerMetric('inference_prompt_template_fallbacks_total', { tier: 'S' }), 0);
  });
});
