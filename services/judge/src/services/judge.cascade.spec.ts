import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Topics,
  routedTopicForTier,
  type InferenceCompleted,
  type InferenceJudged,
  type InferenceRequestRouted,
  type JobStatusChanged,
  type Tier,
} from '@llmgov/contracts';
import { FALLBACK_TEXT } from '@llmgov/judging';
import { RecordingPublisher } from '@llmgov/testing';
import { JudgeMetrics } from './judge-metrics.js';
import { NORMANS_CONTEXT, judgeCompletion, judgeMetrics, judgeServiceOf } from './test/judge-builders.js';
import { JudgeService } from './judge.service.js';
import type { AttemptReservation, CascadeContext, CascadePort, StoredAttempt } from './cascade.js';

const GROUNDED = 'The Normans were descended from Norse raiders.';
const UNGROUNDED = 'Vikings from Iceland sailed to Greenland in 982.';

/** In-memory cascade port: the policy context, a reservation answer and the kept attempts (keyed per job and attempt). */
class MemoryCascade implements CascadePort {
  ctx: CascadeContext | null = {
    escalation: { allowed: true, max_escalations: 1 },
    allowedTiers: ['S', 'M', 'L'],
    models: { S: 'sim-s', M: 'sim-m', L: 'sim-l' },
    templates: { S: 'rag-chat@1', M: 'squad-completions-gemma@1', L: 'squad-completions-gemma-long@1' },
  };
  grant = true;
  reservations: string[] = [];
  kept = new Map<string, StoredAttempt>();
  async context(): Promise<CascadeContext | null> {
    return this.ctx;
  }
  async reserveAttempt(c: InferenceCompleted, tier: Tier, attempt: number): Promise<AttemptReservation | null> {
    const id = `${c.job_id}:${tier}:${attempt}`;
    const first = !this.reservations.includes(id);
    this.reservations.push(id);
    return this.grant ? { usd: 0.004, first } : null;
  }
  async remember(jobId: string, a: StoredAttempt): Promise<void> {
    this.kept.set(`${jobId}:${a.attempt}`, a);
  }
  async attempts(jobId: string): Promise<StoredAttempt[]> {
    return [...this.kept.entries()].filter(([k]) => k.startsWith(`${jobId}:`)).map(([, v]) => v);
  }
}

const completion = (overrides: Partial<InferenceCompleted> = {}): InferenceCompleted =>
  judgeCompletion({
    tier: 'S',
    model: 'sim-s',
    endpoint: null,
    text: UNGROUNDED,
    context: NORMANS_CONTEXT.slice(0, 1),
    team: 'team-x',
    route: 'qa',
    policy_version: 3,
    decision_reasons: ['tier_S'],
    ...overrides,
  });

describe('JudgeService cascade', () => {
  let publisher: RecordingPublisher;
  let cascade: MemoryCascade;
  let metrics: JudgeMetrics;
  let sut: JudgeService;
  const flags = { isCancelled: async () => false };
  const answers = { fill: async () => undefined };

  beforeEach(() => {
    publisher = new RecordingPublisher();
    cascade = new MemoryCascade();
    metrics = judgeMetrics();
    sut = judgeServiceOf({ config: { JUDGE_MIN_QUALITY: 0.5, JUDGE_CACHE_TTL_S: 86_400 }, flags, answers, publisher, metrics, cascade });
  });

  it('escalates a low S answer to M as attempt 2 instead of finalising, idempotently under redelivery', async () => {
    await sut.judge(completion());
    await sut.judge(completion());
    assert.deepEqual(cascade.reservations, ['job-1:M:2', 'job-1:M:2']);
    assert.equal(publisher.on(Topics.jobStatus).length, 0, 'an escalated job is not finalised');
    const judged = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(judged[0]!.verdict, 'ESCALATE');
    assert.deepEqual(judged[0]!.reasons, ['quality_below_0.5', 'quality_below_min→escalate_M']);
    const routed = publisher.on<InferenceRequestRouted>(routedTopicForTier('M'));
    assert.equal(routed.length, 2);
    assert.equal(routed[0]!.event_id, routed[1]!.event_id);
    assert.equal(routed[0]!.job_id, 'job-1');
    assert.equal(routed[0]!.attempt, 2);
    assert.equal(routed[0]!.tier, 'M');
    assert.equal(routed[0]!.model, 'sim-m');
    assert.equal(routed[0]!.prompt_template, 'squad-completions-gemma@1', "the next tier's template under the deciding version");
    assert.equal(routed[0]!.prompt, completion().prompt);
    assert.deepEqual(routed[0]!.context, completion().context);
    assert.deepEqual(routed[0]!.decision_reasons, ['tier_S', 'quality_below_min→escalate_M']);
    assert.equal(publisher.on(routedTopicForTier('S')).length, 0);
    // The redelivery republishes but counts the escalation and its reserved cost once.
    assert.equal((await metrics.escalations.get()).values.find((v) => v.labels.to_tier === 'M')?.value, 1);
    assert.equal((await metrics.escalationReservedUsd.get()).values.find((v) => v.labels.to_tier === 'M')?.value, 0.004);
  });

  it('finalises attempt 2 with the best-judged answer and the tiers tried, counting a recovery', async () => {
    await sut.judge(completion());
    await sut.judge(completion({ tier: 'M', model: 'sim-m', text: GROUNDED, attempt: 2, decision_reasons: ['tier_S', 'quality_below_min→escalate_M'] }));
    const [status] = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.equal(status!.state, 'completed');
    assert.equal(status!.result!.text, GROUNDED);
    assert.equal(status!.result!.tier, 'M');
    assert.deepEqual(status!.result!.decision_reasons, ['tier_S', 'quality_below_min→escalate_M', 'tiers_tried:S,M']);
    assert.equal((await metrics.escalationOutcomes.get()).values.find((v) => v.labels.outcome === 'recovered')?.value, 1);
  });

  it('stops at max_escalations and releases the best attempt so far (here attempt 1), counting no recovery', async () => {
    // A request bar above the judge's own: the S answer PASSes the judge's 0.5 but not the request's 0.99.
    const budget = { latency_ms: 30_000, max_cost_usd: 0.05, min_quality: 0.99 };
    await sut.judge(completion({ budget, text: 'Normans descended from raiders of Iceland.' }));
    assert.equal(publisher.on(routedTopicForTier('M')).length, 1);
    await sut.judge(completion({ budget, tier: 'M', model: 'sim-m', text: UNGROUNDED, attempt: 2 }));
    assert.equal(publisher.on(routedTopicForTier('L')).length, 0);
    const kept = await cascade.attempts('job-1');
    assert.ok(kept.find((a) => a.attempt === 1)!.quality > kept.find((a) => a.attempt === 2)!.quality);
    const [status] = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.equal(status!.result!.tier, 'S');
    assert.equal(status!.result!.text, 'Normans descended from raiders of Iceland.');
    assert.deepEqual(status!.result!.decision_reasons.slice(-2), ['escalation_stopped:max_escalations_reached', 'tiers_tried:S,M']);
    assert.equal((await metrics.escalationOutcomes.get()).values.find((v) => v.labels.outcome === 'not_recovered')?.value, 1);
  });

  it('finalises with the fallback when the next attempt’s budget reservation is refused', async () => {
    cascade.grant = false;
    await sut.judge(completion());
    assert.equal(publisher.on(routedTopicForTier('M')).length, 0);
    const [judged] = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(judged!.verdict, 'FALLBACK');
    const [status] = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.equal(status!.result!.text, FALLBACK_TEXT);
    assert.deepEqual(status!.result!.decision_reasons, ['tier_S', 'escalation_stopped:budget_reservation_refused', 'tiers_tried:S']);
  });

  it('leaves the job as before when the class does not allow escalation or the answer meets the bar', async () => {
    cascade.ctx = { ...cascade.ctx!, escalation: undefined };
    await sut.judge(completion());
    await sut.judge(completion({ job_id: 'job-2', text: GROUNDED }));
    assert.equal(cascade.reservations.length, 0);
    const statuses = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.deepEqual(
      statuses.map((s) => s.result!.decision_reasons),
      [['tier_S'], ['tier_S']],
    );
    assert.deepEqual(
      publisher.on<InferenceJudged>(Topics.inferenceJudged).map((j) => j.verdict),
      ['FALLBACK', 'PASS'],
    );
    assert.equal(cascade.kept.size, 0, 'a first attempt of a class without escalation is not kept (no Redis write)');
  });

  it('is switched by the escalation block alone: with it the same port cascades, without a policy it does nothing', async () => {
    cascade.ctx = null; // a job decided without a policy, or under a version the judge's namespace lacks
    await sut.judge(completion({ job_id: 'job-np' }));
    assert.equal(cascade.kept.size, 0);
    assert.deepEqual(
      publisher.on<InferenceJudged>(Topics.inferenceJudged).map((j) => j.verdict),
      ['FALLBACK'],
    );
    cascade.ctx = { escalation: { allowed: true, max_escalations: 1 }, allowedTiers: ['S', 'M'], models: { S: 'sim-s', M: 'sim-m' } };
    await sut.judge(completion({ job_id: 'job-esc' }));
    assert.deepEqual(
      publisher.on<InferenceJudged>(Topics.inferenceJudged).map((j) => j.verdict),
      ['FALLBACK', 'ESCALATE'],
    );
    assert.equal(cascade.kept.size, 1);
    // A port that names no templates: the escalated attempt carries none, and the worker renders its pool's own.
    assert.equal(publisher.on<InferenceRequestRouted>(routedTopicForTier('M'))[0]!.prompt_template, null);
  });
});
