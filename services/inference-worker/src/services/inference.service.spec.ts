import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NonRetriableError } from '@llmgov/errors';
import { deterministicEventId, type EventPublisher, type RecordContext } from '@llmgov/kafka-runtime';
import { ChatCompletionsClient, LlmEndpointError, type CompletionRequest, type CompletionResult } from '@llmgov/llm-clients';
import { PlatformMetrics, createLogger } from '@llmgov/observability';
import { RedisKeys, type EffectMarkersRepository, type JobFlagsRepository } from '@llmgov/persistence';
import { MemoryEffectMarkers, MemoryJobFlags, RecordingPublisher } from '@llmgov/testing';
import { Topics, type InferenceCompleted, type InferenceRequestRouted, type JobStatusChanged, type UsageRecorded } from '@llmgov/contracts';
import { loadWorkerConfig } from '../config.js';
import type { JobLeases } from '../adapters/job-lease.js';
import { InferenceService } from './inference.service.js';
import { PoolRegistry } from './pool-registry.js';
import { WorkerMetrics } from './worker-metrics.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(
  readFileSync(path.resolve(here, '../../../../../schemas/fixtures/inference.request.routed.v1/valid-direct-s.json'), 'utf8'),
) as InferenceRequestRouted;

/** A small pool config: two S endpoints (so a retry can move to the other one), one M and one L. */
const dir = mkdtempSync(path.join(os.tmpdir(), 'inference-spec-'));
const POOLS_FILE = path.join(dir, 'pools.json');
const endpoint = (url: string, max_num_seqs = 4) => ({ url, max_inflight: 2, max_num_seqs, gpu_type: 'NVIDIA L4 24GB', usd_per_gpu_hour: 0.8 });
// Tier L speaks the completions API through a template beside the pool file (a path relative to it).
mkdirSync(path.join(dir, 'prompts'));
writeFileSync(
  path.join(dir, 'prompts', 'qa-completions.v2.json'),
  JSON.stringify({
    name: 'qa-completions',
    version: 2,
    api: 'completions',
    max_context_chunks: 1,
    stop: ['\n'],
    prompt: 'Context: {{context}}\nQ: {{question}}\nA:',
  }),
);
// The worker's prompts folder (PROMPTS_DIR): that completions template and the repository's negative control, a chat one.
const PROMPTS_DIR = path.join(dir, 'prompts');
copyFileSync(path.resolve(here, '../../../../../infra/prompts/rag-chat-no-context.v1.json'), path.join(PROMPTS_DIR, 'rag-chat-no-context.v1.json'));
writeFileSync(
  POOLS_FILE,
  JSON.stringify({
    version: 3,
    pools: {
      S: { model: 'sim-s', endpoints: [endpoint('http://s1.test'), endpoint('http://s2.test')] },
      M: { model: 'sim-m', endpoints: [endpoint('http://m1.test')] },
      L: { model: 'sim-l', api: 'completions', prompt_template: 'prompts/qa-completions.v2.json', endpoints: [endpoint('http://l1.test')] },
    },
  }),
);

/** A ChatCompletionsClient double that answers each call from a script: a result, or an error to throw. */
class FakeChatClient {
  readonly calls: CompletionRequest[] = [];
  script: ((req: CompletionRequest) => CompletionResult | Error | Promise<CompletionResult | Error>)[] = [];
  async complete(req: CompletionRequest): Promise<CompletionResult> {
    this.calls.push(req);
    const step = this.script.shift() ?? ((r: CompletionRequest) => answer(r.endpoint));
    const out = await step(req);
    if (out instanceof Error) throw out;
    return out;
  }
}

const answer = (url: string): CompletionResult => ({
  text: 'Saint Bernadette Soubirous.',
  finish_reason: 'stop',
  usage: { prompt_tokens: 40, completion_tokens: 6 },
  timings: { ttft_ms: 20, tpot_ms: 5, e2e_ms: 400 },
  endpoint: url,
  model: 'sim-s',
});
const engineDown = (url: string) => new LlmEndpointError('503 Service Unavailable', { source: 'engine', retriable: true, endpoint: url, status: 503 });

/** JobLeases double: every acquire gets a lease (unless `held`), and releases are counted. */
class FakeLeases {
  acquired: string[] = [];
  released = 0;
  held = false;
  async acquire(key: string) {
    if (this.held) return undefined;
    this.acquired.push(key);
    return { release: async () => void this.released++ };
  }
}

function setup() {
  const config = { ...loadWorkerConfig(), POOLS_FILE, PROMPTS_DIR, INFERENCE_MAX_ATTEMPTS: 3, RETRY_INITIAL_MS: 1, RETRY_MAX_MS: 1 };
  const logger = createLogger('spec', 'silent');
  /** The warn logs' fields and messages, in order. */
  const warns: { fields: Record<string, unknown>; msg: string }[] = [];
  logger.warn = ((fields: Record<string, unknown>, msg: string) => void warns.push({ fields, msg })) as typeof logger.warn;
  const metrics = new WorkerMetrics(new PlatformMetrics('spec'));
  const client = new FakeChatClient();
  const markers = new MemoryEffectMarkers();
  const flags = new MemoryJobFlags();
  const leases = new FakeLeases();
  const publisher = new RecordingPublisher();
  const sut = new InferenceService(
    config,
    client as unknown as ChatCompletionsClient,
    markers as unknown as EffectMarkersRepository,
    flags as unknown as JobFlagsRepository,
    leases as unknown as JobLeases,
    logger,
    publisher as unknown as EventPublisher,
    new PoolRegistry(config, logger, metrics),
    metrics,
  );
  return { sut, client, markers, flags, leases, publisher, metrics, warns };
}

const routed = (over: Partial<InferenceRequestRouted> = {}): InferenceRequestRouted => ({
  ...fixture,
  occurred_at: Date.now(),
  deadline_at: Date.now() + 60_000,
  ...over,
});
const ctx: RecordContext = { topic: Topics.inferenceRoutedS, partition: 0, offset: '7', key: fixture.job_id, headers: {}, timestamp: 0, attempt: 1 };
const doneKey = RedisKeys.completionDone(fixture.job_id, fixture.attempt);
const statuses = (p: RecordingPublisher) => p.on<JobStatusChanged>(Topics.jobStatus).map((s) => [s.state, s.error?.code ?? null]);

describe(InferenceService.name, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('publishes the completion and the usage with deterministic ids, then finalizing, then marks the attempt done', async () => {
    const { sut, client, markers, leases, publisher } = setup();
    assert.deepEqual(await sut.infer(routed(), ctx), { status: 'success' });
    assert.equal(client.calls.length, 1);
    assert.equal(client.calls[0]!.model, 'sim-s', 'the pool’s model');
    assert.deepEqual(
      publisher.sent.map((s) => s.topic),
      [Topics.inferenceCompleted, Topics.usageRecorded, Topics.jobStatus],
      'completion and usage before the status',
    );
    // Keys follow the catalog: the job id for the completion and its status, the tenant for the usage (billing order).
    assert.deepEqual(
      publisher.sent.map((s) => s.key),
      [fixture.job_id, fixture.tenant_id, fixture.job_id],
    );
    const [completed] = publisher.on<InferenceCompleted>(Topics.inferenceCompleted);
    assert.equal(completed!.event_id, deterministicEventId(fixture.job_id, '1', 'completed'));
    assert.equal(completed!.text, 'Saint Bernadette Soubirous.');
    assert.equal(completed!.endpoint, client.calls[0]!.endpoint);
    const [usage] = publisher.on<UsageRecorded>(Topics.usageRecorded);
    assert.equal(usage!.event_id, deterministicEventId(fixture.job_id, '1', 'usage'));
    assert.equal(usage!.gpu_seconds, 0.4 / 4, 'e2e seconds over max_num_seqs');
    assert.equal(usage!.pool, 'tier-S');
    assert.deepEqual(statuses(publisher), [['finalizing', null]]);
    assert.equal(markers.done.get(doneKey), 'completed');
    assert.deepEqual(leases.acquired, [RedisKeys.inferenceLease(fixture.job_id, fixture.attempt)]);
    assert.equal(leases.released, 1);
  });

  it("sends the default template's chat layout: the system prompt, then the numbered context and the question", async () => {
    const { sut, client } = setup();
    const context = [
      { chunk_id: 'c1', document_id: 'd1', text: 'Lourdes is in France.', score: 0.9 },
      { chunk_id: 'c2', document_id: 'd2', text: 'In 1858 Mary appeared to Bernadette.', score: 0.8 },
    ];
    await sut.infer(routed({ context }), ctx);
    const call = client.calls[0]!;
    assert.equal(call.prompt, undefined);
    assert.equal(call.stop, undefined);
    assert.deepEqual(call.messages, [
      { role: 'system', content: 'Answer briefly.' },
      {
        role: 'user',
        content: `Context:\n[1] Lourdes is in France.\n\n[2] In 1858 Mary appeared to Bernadette.\n\nQuestion: ${fixture.prompt}`,
      },
    ]);
    await sut.infer(routed({ job_id: 'no-context', system_prompt: null, context: [] }), ctx);
    assert.deepEqual(client.calls[1]!.messages, [
      { role: 'system', content: loadWorkerConfig().DEFAULT_SYSTEM_PROMPT },
      { role: 'user', content: `Question: ${fixture.prompt}` },
    ]);
  });

  it("sends a completions pool's rendered prompt with the template's stop sequences", async () => {
    const { sut, client, publisher } = setup();
    const context = [
      { chunk_id: 'c1', document_id: 'd1', text: 'Lourdes is in France.', score: 0.9 },
      { chunk_id: 'c2', document_id: 'd2', text: 'Not placed: max_context_chunks is 1.', score: 0.8 },
    ];
    assert.deepEqual(await sut.infer(routed({ tier: 'L', context }), ctx), { status: 'success' });
    const call = client.calls[0]!;
    assert.equal(call.endpoint, 'http://l1.test');
    assert.equal(call.messages, undefined);
    assert.equal(call.prompt, `Context: [1] Lourdes is in France.\nQ: ${fixture.prompt}\nA:`);
    assert.deepEqual(call.stop, ['\n']);
    assert.equal(publisher.on<InferenceCompleted>(Topics.inferenceCompleted)[0]!.model, 'sim-l');
  });

  it('a redelivery of a finished attempt is skipped without calling the engine', async () => {
    const { sut, client, publisher } = setup();
    await sut.infer(routed(), ctx);
    assert.deepEqual(await sut.infer(routed(), ctx), { status: 'skipped', reason: 'this job attempt already finished' });
    assert.equal(client.calls.length, 1);
    assert.equal(publisher.on(Topics.inferenceCompleted).length, 1);
  });

  it('a crash before the marker republishes the same event ids (consumers count it once)', async () => {
    const { sut, markers, publisher } = setup();
    await sut.infer(routed(), ctx);
    markers.clear();
    await sut.infer(routed(), ctx);
    const ids = publisher.on<InferenceCompleted>(Topics.inferenceCompleted).map((c) => c.event_id);
    assert.equal(ids.length, 2);
    assert.equal(ids[0], ids[1]);
  });

  it('a cancelled job gets a cancelled status and no call', async () => {
    const { sut, client, flags, publisher } = setup();
    flags.cancelled.add(fixture.job_id);
    assert.deepEqual(await sut.infer(routed(), ctx), { status: 'skipped', reason: 'job cancelled' });
    assert.equal(client.calls.length, 0);
    assert.deepEqual(statuses(publisher), [['cancelled', 'cancelled']]);
  });

  it('a job whose deadline passed is failed with deadline_exceeded and not called', async () => {
    const { sut, client, publisher } = setup();
    assert.deepEqual(await sut.infer(routed({ deadline_at: Date.now() - 1 }), ctx), { status: 'skipped', reason: 'deadline passed' });
    assert.equal(client.calls.length, 0);
    assert.deepEqual(statuses(publisher), [['failed', 'deadline_exceeded']]);
  });

  it('retries a retriable engine failure on the other endpoint and completes', async () => {
    const { sut, client, publisher } = setup();
    client.script = [(r) => engineDown(r.endpoint)];
    assert.deepEqual(await sut.infer(routed(), ctx), { status: 'success' });
    assert.equal(client.calls.length, 2);
    assert.notEqual(client.calls[0]!.endpoint, client.calls[1]!.endpoint, 'the retry went to the endpoint not yet tried');
    assert.equal(publisher.on<InferenceCompleted>(Topics.inferenceCompleted)[0]!.endpoint, client.calls[1]!.endpoint);
    assert.deepEqual(statuses(publisher), [['finalizing', null]]);
  });

  for (const [source, code] of [
    ['engine', 'engine_error'],
    ['timeout', 'engine_timeout'],
    ['network', 'engine_network'],
  ] as const) {
    it(`every call failing at source ${source} fails the job (${code}) and throws a NonRetriableError for the DLQ`, async () => {
      const { sut, client, markers, leases, publisher } = setup();
      const fail = (r: CompletionRequest) => new LlmEndpointError(`${source} failed`, { source, retriable: true, endpoint: r.endpoint });
      client.script = [fail, fail, fail];
      await assert.rejects(sut.infer(routed(), ctx), (err: unknown) => {
        assert.ok(err instanceof NonRetriableError);
        assert.equal(err.code, code);
        assert.match(err.message, /after 3 call\(s\) on 2 endpoint\(s\)/);
        return true;
      });
      assert.equal(client.calls.length, 3, 'INFERENCE_MAX_ATTEMPTS calls');
      assert.deepEqual(statuses(publisher), [['failed', code]]);
      assert.equal(publisher.on(Topics.inferenceCompleted).length, 0);
      assert.equal(markers.done.get(doneKey), 'failed', 'a redelivery does not call again');
      assert.equal(leases.released, 1);
    });
  }

  it('a refusal of the request (4xx) is not retried', async () => {
    const { sut, client, publisher } = setup();
    client.script = [(r) => new LlmEndpointError('400 Bad Request', { source: 'client', retriable: false, endpoint: r.endpoint, status: 400 })];
    await assert.rejects(sut.infer(routed(), ctx), (err: unknown) => err instanceof NonRetriableError && err.code === 'engine_client');
    assert.equal(client.calls.length, 1);
    assert.deepEqual(statuses(publisher), [['failed', 'engine_client']]);
  });

  it('an attempt another delivery finished meanwhile is skipped, without a failed status', async () => {
    const { sut, client, markers, publisher } = setup();
    const failAfterOtherFinished = async (r: CompletionRequest) => {
      await markers.markDone(doneKey, 'completed'); // the other delivery's marker lands while this call fails
      return engineDown(r.endpoint);
    };
    client.script = [failAfterOtherFinished, failAfterOtherFinished, failAfterOtherFinished];
    assert.deepEqual(await sut.infer(routed(), ctx), { status: 'skipped', reason: 'another delivery finished this job attempt meanwhile' });
    assert.deepEqual(statuses(publisher), []);
    assert.equal(markers.done.get(doneKey), 'completed', 'the other delivery’s marker is kept');
  });

  it('waits for no call when another instance held the lease and finished the attempt', async () => {
    const { sut, client, leases, markers, publisher } = setup();
    leases.held = true;
    let checks = 0;
    markers.isDone = async () => ++checks > 1; // not done at the first check, done once the lease was refused
    assert.deepEqual(await sut.infer(routed(), ctx), { status: 'skipped', reason: 'another instance finished this job attempt' });
    assert.equal(client.calls.length, 0);
    assert.equal(publisher.sent.length, 0);
  });

  it('our own failure (not an engine error) is rethrown for the runtime’s retry policy, without failing the job', async () => {
    const { sut, client, markers, publisher } = setup();
    client.script = [() => Promise.reject(new TypeError('bug'))];
    await assert.rejects(sut.infer(routed(), ctx), TypeError);
    assert.equal(client.calls.length, 1);
    assert.deepEqual(statuses(publisher), []);
    assert.equal(markers.done.has(doneKey), false);
  });
  describe("the policy version's prompt template (routed record prompt_template)", () => {
    const context = [{ chunk_id: 'c1', document_id: 'd1', text: 'In 1858 Mary appeared to Bernadette.', score: 0.9 }];
    const fallbacks = async (m: WorkerMetrics, tier: string, reason: string) =>
      (await m.promptTemplateFallbacks.get()).values.find((v) => v.labels.tier === tier && v.labels.reason === reason)?.value ?? 0;
    const info = async (m: WorkerMetrics) =>
      (await m.promptTemplate.get()).values
        .filter((v) => v.value === 1)
        .map((v) => `${v.labels.tier} ${v.labels.template} ${v.labels.api} ${v.labels.source}`)
        .sort();

    it('renders the named template when the worker has it for the pool api, and exports it as rendered', async () => {
      const { sut, client, metrics, warns } = setup();
      assert.deepEqual(await sut.infer(routed({ context, prompt_template: 'rag-chat-no-context@1' }), ctx), { status: 'success' });
      // The negative control: the system prompt and the question, none of the retrieved context.
      assert.deepEqual(client.calls[0]!.messages, [
        { role: 'system', content: 'Answer briefly.' },
        { role: 'user', content: `Question: ${fixture.prompt}` },
      ]);
      assert.equal(await fallbacks(metrics, 'S', 'unknown_template'), 0);
      assert.equal(await fallbacks(metrics, 'S', 'api_mismatch'), 0);
      assert.deepEqual(warns, []);
      assert.ok((await info(metrics)).includes('S rag-chat-no-context@1 chat policy'), JSON.stringify(await info(metrics)));
      assert.ok((await info(metrics)).includes('S rag-chat@1 chat pool'), "the pool's own stays: it renders records without a template");
      // A completions pool naming its own template: rendered, no fallback, no second info series.
      assert.deepEqual(await sut.infer(routed({ job_id: 'own', tier: 'L', context, prompt_template: 'qa-completions@2' }), ctx), { status: 'success' });
      assert.equal(client.calls[1]!.prompt, `Context: [1] In 1858 Mary appeared to Bernadette.\nQ: ${fixture.prompt}\nA:`);
      assert.deepEqual(
        (await info(metrics)).filter((l) => l.startsWith('L ')),
        ['L qa-completions@2 completions pool'],
      );
    });

    it("renders the pool's own template for a record naming none", async () => {
      const { sut, client, metrics } = setup();
      await sut.infer(routed({ context, prompt_template: null }), ctx);
      assert.equal(client.calls[0]!.messages?.[1]?.content, `Context:\n[1] In 1858 Mary appeared to Bernadette.\n\nQuestion: ${fixture.prompt}`);
      assert.equal(await fallbacks(metrics, 'S', 'unknown_template'), 0);
    });

    it("falls back to the pool's own for an unknown template or another api, counting each record and warning once per tier and template", async () => {
      const { sut, client, metrics, warns, publisher } = setup();
      const poolChat = `Context:\n[1] In 1858 Mary appeared to Bernadette.\n\nQuestion: ${fixture.prompt}`;
      await sut.infer(routed({ job_id: 'u1', context, prompt_template: 'rag-chat@7' }), ctx);
      await sut.infer(routed({ job_id: 'u2', context, prompt_template: 'rag-chat@7' }), ctx);
      // A completions template named for the chat pool S.
      await sut.infer(routed({ job_id: 'a1', context, prompt_template: 'qa-completions@2' }), ctx);
      // A chat template named for the completions pool L.
      await sut.infer(routed({ job_id: 'a2', tier: 'L', context, prompt_template: 'rag-chat-no-context@1' }), ctx);
      assert.deepEqual(
        client.calls.map((c) => c.messages?.[1]?.content ?? c.prompt),
        [poolChat, poolChat, poolChat, `Context: [1] In 1858 Mary appeared to Bernadette.\nQ: ${fixture.prompt}\nA:`],
      );
      assert.equal(publisher.on<InferenceCompleted>(Topics.inferenceCompleted).length, 4, 'every job is served');
      assert.equal(await fallbacks(metrics, 'S', 'unknown_template'), 2);
      assert.equal(await fallbacks(metrics, 'S', 'api_mismatch'), 1);
      assert.equal(await fallbacks(metrics, 'L', 'api_mismatch'), 1);
      assert.deepEqual(
        warns.map((w) => [w.fields.tier, w.fields.prompt_template, w.fields.reason, w.fields.rendered]),
        [
          ['S', 'rag-chat@7', 'unknown_template', 'rag-chat@1'],
          ['S', 'qa-completions@2', 'api_mismatch', 'rag-chat@1'],
          ['L', 'rag-chat-no-context@1', 'api_mismatch', 'qa-completions@2'],
        ],
      );
      assert.ok(!(await info(metrics)).some((l) => l.endsWith(' policy')), 'no template was rendered from a policy');
    });

    it('never crashes on a hostile or oversized reference: the pool template serves, the log line is cut, no label is made of it', async () => {
      const { sut, client, metrics, warns } = setup();
      const huge = `${'x'.repeat(1_000_000)}@1`;
      const hostile = ['constructor', '__proto__', 'toString', 'hasOwnProperty@1', '', '\u0000\ud800<|im_start|>{{question}}@1', '../../etc/passwd@1', huge];
      for (const [i, ref] of hostile.entries())
        assert.deepEqual(
          await sut.infer(routed({ job_id: `h${i}`, context, prompt_template: ref }), ctx),
          { status: 'success' },
          JSON.stringify(ref.slice(0, 40)),
        );
      assert.equal(client.calls.length, hostile.length);
      assert.ok(client.calls.every((c) => c.messages?.[1]?.content.startsWith('Context:\n[1] In 1858')));
      assert.equal(await fallbacks(metrics, 'S', 'unknown_template'), hostile.length);
      assert.equal(warns.length, hostile.length);
      assert.ok(
        warns.every((w) => String(w.fields.prompt_template).length <= 201),
        'the logged reference is cut to 200 characters',
      );
      const labels = (await metrics.promptTemplateFallbacks.get()).values.flatMap((v) => Object.values(v.labels).map(String));
      assert.ok(
        labels.every((l) => l.length < 40),
        'the reference never becomes a label',
      );
    });
  });
});
