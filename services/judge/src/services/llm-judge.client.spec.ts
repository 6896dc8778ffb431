import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import type { EventPublisher } from '@llmgov/kafka-runtime';
import { createLogger, type PlatformMetrics } from '@llmgov/observability';
import { Topics, type InferenceCompleted, type InferenceJudged } from '@llmgov/contracts';
import type { AnswerCacheRepository, JobFlagsRepository } from '@llmgov/persistence';
import { RecordingPublisher } from '@llmgov/testing';
import { JudgeMetrics } from './judge-metrics.js';
import { JudgeService } from './judge.service.js';
import { LlmJudgeClient, loadJudgePool } from './llm-judge.client.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..');

describe('loadJudgePool', () => {
  it("loads the local pool file's judge section and its prompt template", () => {
    const pool = loadJudgePool(path.join(root, 'infra/pools/local-llama.json'));
    assert.ok(pool);
    assert.equal(pool.model, 'gemma-3-270m');
    assert.equal(pool.template.name, 'support-yes-no-gemma');
    assert.match(pool.template.prompt, /\{\{answer\}\}/);
  });
  it('is null for a pool file without a judge section', () => {
    assert.equal(loadJudgePool(path.join(root, 'infra/pools/local.json')), null);
  });
});

const llamaReply = (pYes: number) => ({
  choices: [
    {
      text: ' Yes',
      logprobs: {
        content: [
          {
            token: ' Yes',
            logprob: Math.log(pYes),
            top_logprobs: [
              { token: ' Yes', logprob: Math.log(pYes) },
              { token: ' No', logprob: Math.log(1 - pYes) },
            ],
          },
        ],
      },
    },
  ],
});

function setup(fetchImpl: typeof fetch, sample = { S: 1, M: 0, L: 0 }) {
  const requests: { url: string; body: Record<string, unknown> }[] = [];
  const recording: typeof fetch = async (url, init) => {
    requests.push({ url: String(url), body: JSON.parse(String(init?.body)) as Record<string, unknown> });
    return fetchImpl(url, init);
  };
  const pool = loadJudgePool(path.join(root, 'infra/pools/local-llama.json'))!;
  const publisher = new RecordingPublisher();
  const sut = new JudgeService(
    { JUDGE_MIN_QUALITY: 0.5, JUDGE_CACHE_TTL_S: 60, JUDGE_LLM_SAMPLE: sample, JUDGE_LLM_SAMPLE_ROUTES: {} },
    { isCancelled: async () => false } as unknown as JobFlagsRepository,
    { fill: async () => undefined } as unknown as AnswerCacheRepository,
    publisher as unknown as EventPublisher,
    new JudgeMetrics({ registry: new Registry() } as unknown as PlatformMetrics),
    createLogger('judge-test', 'silent'),
    undefined,
    null,
    new LlmJudgeClient(pool, recording),
  );
  return { sut, publisher, requests };
}

const completion = (over: Partial<InferenceCompleted> = {}) =>
  ({
    event_id: '0f8fad5b-d9cb-469f-a165-70867728950e',
    tenant_id: 'tenant-a',
    occurred_at: 1,
    schema_version: 3,
    correlation_id: 'job-1',
    job_id: 'job-1',
    tier: 'S',
    model: 'smollm2',
    endpoint: null,
    text: 'Norse raiders.',
    finish_reason: 'stop',
    from_cache: false,
    usage: { prompt_tokens: 1, completion_tokens: 1 },
    timings: { queue_ms: 1, ttft_ms: 1, tpot_ms: 1, e2e_ms: 1 },
    context: [{ chunk_id: 'c', document_id: 'd', text: 'The Normans were descended from Norse raiders.', score: 1 }],
    prompt: 'Who were the Normans descended from?',
    team: null,
    feature: null,
    cache_key: 'k',
    system_prompt: null,
    attempt: 1,
    max_tokens: 32,
    temperature: 0,
    deadline_at: 2,
    budget: { latency_ms: 1, max_cost_usd: 1, min_quality: 0.5 },
    route: null,
    policy_version: null,
    decision_reasons: [],
    ...over,
  }) as InferenceCompleted;

describe('JudgeService with the LLM judge', () => {
  it('asks the judge pool one token with log-probabilities and averages P(yes) into faithfulness', async () => {
    const { sut, publisher, requests } = setup(async () => Response.json(llamaReply(0.2)));
    await sut.judge(completion());
    const [j] = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(j!.judge_method, 'LLM');
    assert.equal(j!.llm_support, 0.2);
    assert.equal(j!.faithfulness, 0.6); // (lexical 1 + 0.2) / 2, no embeddings
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.url, 'http://127.0.0.1:18002/v1/completions');
    assert.equal(requests[0]!.body.max_tokens, 1);
    assert.equal(requests[0]!.body.logprobs, 10);
    assert.match(String(requests[0]!.body.prompt), /Answer: Norse raiders\.\n\nIs the answer supported by the context\?/);
  });

  it('does not call it for an unsampled tier or a cache hit', async () => {
    const { sut, publisher, requests } = setup(async () => Response.json(llamaReply(0.9)));
    await sut.judge(completion({ tier: 'M' }));
    await sut.judge(completion({ from_cache: true, job_id: 'job-2' }));
    assert.equal(requests.length, 0);
    assert.ok(publisher.on<InferenceJudged>(Topics.inferenceJudged).every((j) => j.judge_method === 'DETERMINISTIC' && j.llm_support === null));
  });

  it('judges with the cheap checks when the judge pool fails', async () => {
    const { sut, publisher } = setup(async () => new Response('busy', { status: 503 }));
    await sut.judge(completion());
    const [j] = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(j!.judge_method, 'DETERMINISTIC');
    assert.equal(j!.verdict, 'PASS');
  });
});
