import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Topics, type InferenceJudged } from '@llmgov/contracts';
import { RecordingPublisher } from '@llmgov/testing';
import { judgeServiceOf, llmJudgeCompletion, yesNoReply } from './test/judge-builders.js';
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

const llamaReply = yesNoReply;

function setup(fetchImpl: typeof fetch, sample = { S: 1, M: 0, L: 0 }) {
  const requests: { url: string; body: Record<string, unknown> }[] = [];
  const recording: typeof fetch = async (url, init) => {
    requests.push({ url: String(url), body: JSON.parse(String(init?.body)) as Record<string, unknown> });
    return fetchImpl(url, init);
  };
  const pool = loadJudgePool(path.join(root, 'infra/pools/local-llama.json'))!;
  const publisher = new RecordingPublisher();
  const sut = judgeServiceOf({
    config: { JUDGE_MIN_QUALITY: 0.5, JUDGE_CACHE_TTL_S: 60, JUDGE_LLM_SAMPLE: sample, JUDGE_LLM_SAMPLE_ROUTES: {} },
    publisher,
    llm: new LlmJudgeClient(pool, recording),
  });
  return { sut, publisher, requests };
}

const completion = llmJudgeCompletion;

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
