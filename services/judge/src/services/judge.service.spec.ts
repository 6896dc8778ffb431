import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Topics, type InferenceJudged, type JobStatusChanged } from '@llmgov/contracts';
import type { ExactCacheEntry } from '@llmgov/persistence';
import { JudgeMetrics } from './judge-metrics.js';
import { judgeCompletion, judgeMetrics, judgeServiceOf } from './test/judge-builders.js';
import { JudgeService, retrievedDocumentIds } from './judge.service.js';
import { FALLBACK_TEXT, REFUSAL_TEXT } from '@llmgov/judging';
import { RecordingPublisher } from '@llmgov/testing';

class FakeState {
  cancelled = new Set<string>();
  cache = new Map<string, { entry: ExactCacheEntry; ttl: number }>();
  async isCancelled(jobId: string): Promise<boolean> {
    return this.cancelled.has(jobId);
  }
  async fill(tenantId: string, cacheKey: string, entry: ExactCacheEntry, ttl: number): Promise<void> {
    this.cache.set(`${tenantId}:${cacheKey}`, { entry, ttl });
  }
}

const completion = judgeCompletion;

describe(JudgeService.name, () => {
  let publisher: RecordingPublisher;
  let state: FakeState;
  let metrics: JudgeMetrics;
  let sut: JudgeService;

  beforeEach(() => {
    publisher = new RecordingPublisher();
    state = new FakeState();
    metrics = judgeMetrics();
    sut = judgeServiceOf({ config: { JUDGE_MIN_QUALITY: 0.5, JUDGE_CACHE_TTL_S: 86_400 }, flags: state, answers: state, publisher, metrics });
  });

  it('passes a grounded answer, completes the job and fills the exact cache', async () => {
    const outcome = await sut.judge(completion());
    assert.deepEqual(outcome, { status: 'success' });
    assert.deepEqual(
      publisher.sent.map((s) => s.topic),
      [Topics.inferenceJudged, Topics.jobStatus],
    );
    const [judged] = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(judged!.verdict, 'PASS');
    assert.equal(judged!.groundedness, 1);
    assert.equal(judged!.final_text, 'The Normans were descended from Norse raiders.');
    assert.deepEqual(judged!.retrieved_document_ids, ['d1', 'd2']);
    assert.equal(judged!.judge_method, 'DETERMINISTIC');
    const [status] = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.equal(status!.state, 'completed');
    assert.equal(status!.stage, 'judge');
    assert.deepEqual(status!.result, {
      text: 'The Normans were descended from Norse raiders.',
      finish_reason: 'stop',
      tier: 'M',
      model: 'local-sim-m',
      groundedness: 1,
      retrieved_document_ids: ['d1', 'd2'],
      prompt_tokens: 120,
      completion_tokens: 9,
      route: null,
      policy_version: null,
      decision_reasons: [],
    });
    const cached = state.cache.get('tenant-a:abc123');
    assert.equal(cached?.ttl, 86_400);
    assert.deepEqual(cached?.entry, {
      text: judged!.final_text,
      finish_reason: 'stop',
      model: 'local-sim-m',
      tier: 'M',
      context: completion().context,
      quality: 1,
    });
    assert.equal((await metrics.verdicts.get()).values.find((v) => v.labels.verdict === 'PASS')?.value, 1);
  });

  it('judges a shadow copy (ADR 0009): a judged record flagged shadow, no job status, no cache fill', async () => {
    const outcome = await sut.judge(completion({ job_id: 'shadow:job-1', correlation_id: 'shadow:job-1', shadow: true, policy_version: 5 }));
    assert.deepEqual(outcome, { status: 'success' });
    assert.deepEqual(
      publisher.sent.map((s) => s.topic),
      [Topics.inferenceJudged],
    );
    const [judged] = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(judged!.verdict, 'PASS', 'the same grounded answer passes as it would for the user job');
    assert.equal(judged!.shadow, true);
    assert.equal(judged!.job_id, 'shadow:job-1');
    assert.equal(judged!.policy_version, 5);
    assert.equal(state.cache.size, 0);
  });

  it('releases the fallback template for an ungrounded answer and does not cache it', async () => {
    await sut.judge(completion({ text: 'Vikings from Iceland sailed to Greenland in 982.' }));
    const [judged] = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(judged!.verdict, 'FALLBACK');
    assert.equal(judged!.final_text, FALLBACK_TEXT);
    const [status] = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.equal(status!.result?.finish_reason, 'fallback');
    assert.equal(status!.result?.text, FALLBACK_TEXT);
    assert.equal(state.cache.size, 0);
  });

  it('masks PII, still completes the job, and does not cache', async () => {
    await sut.judge(completion({ text: 'The Normans were descended from Norse raiders, ask rollo@normandy.fr' }));
    const [judged] = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(judged!.verdict, 'FAIL_PII');
    assert.equal(judged!.pii_found, true);
    assert.match(judged!.final_text, /\[EMAIL\]$/);
    assert.equal(publisher.on<JobStatusChanged>(Topics.jobStatus)[0]!.state, 'completed');
    assert.equal(state.cache.size, 0);
  });

  it('judges a cache hit the same way but never re-fills the cache', async () => {
    await sut.judge(completion({ from_cache: true, finish_reason: 'cache', endpoint: null, usage: { prompt_tokens: 0, completion_tokens: 0 } }));
    assert.equal(publisher.on<InferenceJudged>(Topics.inferenceJudged)[0]!.verdict, 'PASS');
    assert.equal(state.cache.size, 0);
  });

  it('publishes the same event ids when a completion is redelivered', async () => {
    await sut.judge(completion());
    await sut.judge(completion({ event_id: 'another-delivery' }));
    const judged = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    const status = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.equal(judged[0]!.event_id, judged[1]!.event_id);
    assert.equal(status[0]!.event_id, status[1]!.event_id);
    assert.notEqual(judged[0]!.event_id, status[0]!.event_id);
  });

  it('cancels a cancelled job at the judge stage and releases nothing', async () => {
    state.cancelled.add('job-1');
    const outcome = await sut.judge(completion());
    assert.equal(outcome.status, 'skipped');
    assert.deepEqual(
      publisher.sent.map((s) => s.topic),
      [Topics.jobStatus],
    );
    const [status] = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.equal(status!.state, 'cancelled');
    assert.equal(status!.stage, 'judge');
    assert.equal(status!.error?.code, 'cancelled');
    assert.equal(state.cache.size, 0);
  });

  it('handles an empty answer with no context as a fallback', async () => {
    await sut.judge(completion({ text: '', context: [] }));
    const [judged] = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(judged!.verdict, 'FALLBACK');
    assert.equal(judged!.groundedness, 0);
    assert.deepEqual(judged!.retrieved_document_ids, []);
  });
});

describe('JudgeService: scores, refusals and safety', () => {
  const make = (embeddings?: { embed: (texts: string[]) => Promise<{ vectors: number[][] }> }) => {
    const publisher = new RecordingPublisher();
    const state = new FakeState();
    const sut = judgeServiceOf({
      config: { JUDGE_MIN_QUALITY: 0.5, JUDGE_CACHE_TTL_S: 86_400 },
      flags: state,
      answers: state,
      publisher,
      embeddings: embeddings as never,
    });
    return { sut, publisher, state };
  };

  it('publishes the three scores, the quality and the judge version; semantic support from the embeddings client', async () => {
    const texts: string[][] = [];
    // A stand-in client: every text maps to the same direction, so every cosine is 1.
    const { sut, publisher } = make({ embed: async (t) => (texts.push(t), { vectors: t.map(() => [1, 0]) }) });
    await sut.judge(completion());
    const [judged] = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(judged!.semantic_support, 1);
    assert.equal(judged!.faithfulness, 1);
    assert.equal(judged!.completeness, 1);
    assert.ok(judged!.quality! >= 0.5 && judged!.quality! <= 1);
    assert.match(judged!.judge_version!, /^judge-/);
    assert.equal(texts.length, 1, 'one embeddings call per completion');
  });

  it('keeps judging on lexical scores when the embeddings client fails', async () => {
    const { sut, publisher } = make({
      embed: async () => {
        throw new Error('ECONNREFUSED');
      },
    });
    await sut.judge(completion());
    const [judged] = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(judged!.semantic_support, null);
    assert.equal(judged!.verdict, 'PASS');
  });

  it('releases the fallback for a model refusal, even one that repeats context words', async () => {
    const { sut, publisher, state } = make();
    await sut.judge(completion({ text: 'The Normans descended from raiders is not mentioned in the context.' }));
    const [judged] = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(judged!.verdict, 'FALLBACK');
    assert.ok(judged!.reasons.includes('model_refusal'));
    assert.equal(judged!.completeness, 0);
    assert.equal(state.cache.size, 0);
  });

  it('refuses an unsafe answer with the refusal template and finish_reason content_filter', async () => {
    const { sut, publisher, state } = make();
    await sut.judge(completion({ text: 'Here is how to make a bomb from fertiliser.' }));
    const [judged] = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(judged!.verdict, 'REFUSE');
    assert.deepEqual(judged!.reasons, ['safety:weapons']);
    assert.equal(judged!.final_text, REFUSAL_TEXT);
    const [status] = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.equal(status!.state, 'completed');
    assert.equal(status!.result?.finish_reason, 'content_filter');
    assert.equal(state.cache.size, 0);
  });
});

describe('retrievedDocumentIds', () => {
  it('keeps rank order and removes duplicates', () => {
    const c = (document_id: string) => ({ chunk_id: `${document_id}#x`, document_id, text: '', score: 0 });
    assert.deepEqual(retrievedDocumentIds([c('b'), c('a'), c('b'), c('c'), c('a')]), ['b', 'a', 'c']);
  });
});
