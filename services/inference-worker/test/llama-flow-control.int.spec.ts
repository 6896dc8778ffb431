/**
 * The inference worker's flow control on a REAL llama.cpp engine: SmolLM2-135M-Instruct served by llama.cpp's own
 * server (xllamacpp, started with @llmgov/llama-engine) with one slot, the worker (`dist/src/main.js`, a child process)
 * consuming tier M against the real local stack, and its pool file saying `metrics_dialect: "llamacpp"`. Observed from
 * outside only: the worker's Prometheus text and the Kafka topics.
 *
 * Without the model files there is nothing real to test: the suite FAILS (it does not skip) with the reason and the fix.
 * `npm test` and CI install the models first (scripts/test.sh runs setup with SETUP_MODELS=1), so missing files mean a
 * broken set-up, and a skip would hide that the llama.cpp claim went untested.
 *
 * Tier M only (WORKER_TIERS=M), one worker at a time: the tier-M topic is shared with the other integration specs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Topics, dlqTopic, type InferenceCompleted, type InferenceRequestRouted } from '@llmgov/contracts';
import { newEnvelope } from '@llmgov/kafka-runtime';
import { eventually, firstRecordOfEachKey, recordsWithKey, startGroupAtEnd, waitForCommitted } from '@llmgov/testing';
import { localModels, startLlamaEngine, type LlamaEngineHandle } from '@llmgov/llama-engine';
import { repoRoot, spawnManaged, type ManagedProcess } from '@llmgov/platform';
import { FLOW, PAUSED, WorkerMetrics, WorkerTestClients, workerEnv } from './support.js';

const run = randomUUID().slice(0, 8);
const ROOT = repoRoot();
const WORKER_SCRIPT = path.join(ROOT, 'services', 'inference-worker', 'dist', 'src', 'main.js');
const LOG_DIR = path.join(ROOT, '.local', 'logs', 'test');
const PROMPTS = path.join(ROOT, 'infra', 'prompts');
const TOPIC = Topics.inferenceRoutedM;
const FAR_DEADLINE_MS = 10 * 60_000;
/** Worker calls in flight on the one-slot engine: 1 in the slot, 2 deferred by llama.cpp. */
const MAX_INFLIGHT = 3;

const found = localModels();
/** Each test starts with this: without the model files it fails with the reason and the fix. */
function requireModels(): void {
  if (found.missing !== undefined) assert.fail(`the real llama.cpp models are not installed: ${found.missing} (or bash scripts/setup.sh --models)`);
}

const clients = new WorkerTestClients(`it-iw-llama-${run}`);
let tmpDir: string;
let engine: LlamaEngineHandle | undefined;
let worker: ManagedProcess | undefined;

// ------------------------------------------------------------------------------------------------ helpers

/** A pool file whose three tiers use the engine (only M is consumed here). */
function writePools(version: number, pool: { api: 'chat' | 'completions'; prompt_template: string }): string {
  const tier = {
    model: engine!.model,
    ...pool,
    endpoints: [
      { url: engine!.url, max_inflight: MAX_INFLIGHT, max_num_seqs: engine!.parallel, metrics_dialect: 'llamacpp', gpu_type: 'cpu', usd_per_gpu_hour: 0 },
    ],
  };
  const file = path.join(tmpDir, 'llama.pools.json');
  // Staleness 10 s (scrape timeout 5 s): llama.cpp answers /metrics between decode steps, which a loaded 2-core
  // machine can stretch past the default 1 s timeout; a slow scrape must not count as a saturated engine here.
  writeFileSync(file, JSON.stringify({ version, saturation: { metrics_staleness_ms: 10_000 }, pools: { S: tier, M: tier, L: tier } }, null, 2));
  return file;
}

async function startWorker(group: string, poolsFile: string): Promise<ManagedProcess> {
  // A fresh group starts at the topic's end, so it sees only what this test produces.
  await startGroupAtEnd(clients.admin!, `${group}.M`, TOPIC);
  const port = 18290;
  return spawnManaged({
    name: 'inference-worker-it-llama',
    script: WORKER_SCRIPT,
    env: {
      ...workerEnv(clients.config, { port, group: group, poolsFile: poolsFile, logLevel: 'info' }),
    },
    port,
    logDir: LOG_DIR,
    readyPath: '/health/ready',
    readyTimeoutMs: 60_000,
  });
}

/** A SQuAD-style routed request for tier M: one short paragraph as context, a few output tokens. */
function routed(jobId: string, i: number): InferenceRequestRouted {
  const now = Date.now();
  return {
    ...newEnvelope('tenant-a', jobId),
    occurred_at: now,
    job_id: jobId,
    shadow: false,
    prompt_template: null,
    tier: 'M',
    model: engine!.model,
    prompt: `Which team won Super Bowl ${50 + i}?`,
    system_prompt: null,
    context: [
      {
        chunk_id: `${jobId}-c1`,
        document_id: 'superbowl',
        text: `Super Bowl ${50 + i} was played in Santa Clara. The Denver Broncos defeated the Carolina Panthers 24-10.`,
        score: 1,
      },
    ],
    max_tokens: 8,
    temperature: 0,
    deadline_at: now + FAR_DEADLINE_MS,
    attempt: 1,
    route_reason: 'test:llama-flow-control',
    route: null,
    policy_version: null,
    decision_reasons: [],
    cache_key: randomUUID().replaceAll('-', ''),
    budget: { latency_ms: FAR_DEADLINE_MS, max_cost_usd: 1, min_quality: 0 },
    team: 'it',
    feature: 'llama-flow-control-it',
  };
}

/** Produces one routed record per request (key = job id); returns the last offset written to each partition. */
const produce = (requests: InferenceRequestRouted[]) => clients.produce(TOPIC, requests);

/** The first completion of each job, once all of them arrived. */
async function completionsOf(ids: string[], timeoutMs: number): Promise<Map<string, InferenceCompleted>> {
  const seen = await firstRecordOfEachKey(clients.kafka, Topics.inferenceCompleted, ids, timeoutMs);
  const out = new Map<string, InferenceCompleted>();
  for (const [id, r] of seen) out.set(id, await clients.serde.decode<InferenceCompleted>(r.message.value));
  return out;
}

async function assertExactlyOnce(group: string, ids: string[], last: Map<number, string>): Promise<void> {
  await Promise.all([...last].map(([partition, offset]) => waitForCommitted(clients.kafka, `${group}.M`, TOPIC, partition, offset, 60_000)));
  for (const id of ids) {
    assert.equal((await recordsWithKey(clients.kafka, Topics.inferenceCompleted, id)).length, 1, `${id}: one completion`);
    assert.equal((await recordsWithKey(clients.kafka, dlqTopic(TOPIC), id)).length, 0, `${id}: not dead-lettered`);
  }
}

/** One scrape of the worker's metrics (5 s timeout). */
const metrics = () => WorkerMetrics.of(worker!.url, 5_000);

const SCRAPE_ERRORS = 'inference_metrics_scrape_errors_total';
const TEMPLATE = 'inference_prompt_template_info';

// ------------------------------------------------------------------------------------------------ lifecycle

before(async () => {
  await clients.open();
  tmpDir = mkdtempSync(path.join(os.tmpdir(), 'iw-llama-it-'));
  // One slot, a small KV cache: one request runs, the others are deferred by the engine.
  if (found.missing === undefined)
    engine = await startLlamaEngine({ model: found.models.smollm2Gguf, parallel: 1, ctxSize: 1024, alias: 'smollm2-135m-instruct' });
});

after(async () => {
  await worker?.stop(20_000);
  await engine?.close();
  await clients.close();
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------------ tests

describe('inference worker on a real llama.cpp engine (SmolLM2-135M-Instruct, one slot, tier M)', { timeout: 600_000 }, () => {
  const group = `it-iw-llama-${run}`;

  it('pauses the tier consumer while the engine reports its slot busy and requests deferred, resumes when it drains, and completes every job', async (t) => {
    requireModels();
    worker = await startWorker(group, writePools(1, { api: 'chat', prompt_template: path.join(PROMPTS, 'squad-chat-smollm2.v1.json') }));
    const before0 = await metrics();
    assert.equal(before0.get(FLOW, { tier: 'M', action: 'pause' }), 0, 'not paused before the load: the idle engine was scraped');
    assert.equal(before0.get(TEMPLATE, { tier: 'M', template: 'squad-chat-smollm2@1', api: 'chat' }), 1, 'the template in use is exported');

    const ids = Array.from({ length: 6 }, (_, i) => `it-iw-llama-${run}-${i}`);
    const last = await produce(ids.map((id, i) => routed(id, i)));

    // 3 calls reach the engine: llamacpp:requests_processing 1 (the slot, KV usage 1.0 > 0.8) and requests_deferred 2.
    await eventually(
      'tier M to be paused by the engine metrics',
      async () => {
        const m = await metrics();
        return m.get(FLOW, { tier: 'M', action: 'pause' }) >= 1 && m.get(PAUSED, { topic: TOPIC }) > 0;
      },
      { timeoutMs: 120_000, intervalMs: 50 },
    );
    await eventually('tier M to resume once the engine drained', async () => (await metrics()).get(FLOW, { tier: 'M', action: 'resume' }) >= 1, {
      timeoutMs: 300_000,
      intervalMs: 50,
    });

    const done = await completionsOf(ids, 300_000);
    for (const [id, c] of done) {
      t.diagnostic(`${id} (squad-chat-smollm2@1): ${JSON.stringify(c.text)} (${c.finish_reason})`);
      assert.equal(c.endpoint, engine!.url, id);
      assert.equal(c.model, 'smollm2-135m-instruct');
      assert.ok(c.text.trim().length > 0, `${id}: an answer (${JSON.stringify(c.text)})`);
      assert.ok(c.usage.prompt_tokens > 20 && c.usage.completion_tokens >= 1 && c.usage.completion_tokens <= 8, JSON.stringify(c.usage));
    }
    await assertExactlyOnce(group, ids, last);
    await eventually('tier M to consume again once the engine is idle', async () => (await metrics()).get(PAUSED, { topic: TOPIC }) === 0, {
      timeoutMs: 60_000,
    });
    const m = await metrics();
    assert.equal(m.get(SCRAPE_ERRORS, { endpoint: engine!.url }), 0, 'every pause and resume came from a successful llama.cpp scrape');
    assert.equal(m.get('inference_jobs_failed_total'), 0);
  });

  it('switches the pool to the completions API and its versioned template on a reload, and rejects an invalid template', async (t) => {
    requireModels();
    assert.ok(worker, 'the worker of the first test still runs');
    // An invalid template: the reload is rejected and version 1 stays.
    const broken = path.join(tmpDir, 'broken.v1.json');
    writeFileSync(broken, JSON.stringify({ name: 'broken', version: 1, api: 'completions', prompt: '{{context}} Q: {{quesiton}}' }));
    writePools(2, { api: 'completions', prompt_template: broken });
    worker.child.kill('SIGHUP');
    await eventually(
      'the pool file with a broken template to be rejected',
      async () => (await metrics()).get('inference_pool_config_reloads_total', { outcome: 'rejected' }) >= 1,
    );
    assert.equal((await metrics()).get('inference_pool_config_version'), 1);

    writePools(3, { api: 'completions', prompt_template: path.join(PROMPTS, 'squad-completions-gemma.v1.json') });
    worker.child.kill('SIGHUP');
    await eventually('pool config version 3 to be applied', async () => (await metrics()).get('inference_pool_config_version') === 3);
    const m = await metrics();
    assert.equal(m.get(TEMPLATE, { tier: 'M', template: 'squad-completions-gemma@1', api: 'completions' }), 1);
    assert.equal(m.get(TEMPLATE, { tier: 'M', template: 'squad-chat-smollm2@1' }), 0, 'the old template is no longer exported');

    const ids = [0, 1].map((i) => `it-iw-llama-${run}-cmpl-${i}`);
    const last = await produce(ids.map((id, i) => routed(id, i)));
    const done = await completionsOf(ids, 300_000);
    for (const [id, c] of done) {
      t.diagnostic(`${id} (squad-completions-gemma@1 on SmolLM2): ${JSON.stringify(c.text)} (${c.finish_reason})`);
      assert.ok(['stop', 'length'].includes(c.finish_reason), `${id}: ${c.finish_reason}`);
      assert.ok(!c.text.includes('\n'), `${id}: the template's "\\n" stop ends the answer (${JSON.stringify(c.text)})`);
      assert.ok(c.usage.prompt_tokens > 20, JSON.stringify(c.usage));
    }
    await assertExactlyOnce(group, ids, last);
  });
});
