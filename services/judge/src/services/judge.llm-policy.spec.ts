import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Topics, type InferenceCompleted, type InferenceJudged, type UsageRecorded } from '@llmgov/contracts';
import { validatePolicy, type PolicyDocument, type PolicyDocumentInput } from '@llmgov/policy';
import { sampledAtRate } from '@llmgov/judging';
import { RecordingPublisher } from '@llmgov/testing';
import { judgeMetrics, judgeServiceOf, llmJudgeCompletion, yesNoReply } from './test/judge-builders.js';
import { LLM_JUDGE_BUDGET_REFUSED } from './judge.service.js';
import { LlmJudgeClient, loadJudgePool } from './llm-judge.client.js';
import type { PolicyVersionSource } from './policy-versions.js';
import { JUDGE_FEATURE, judgeLeaseMs, judgeReservationId, judgeUsageEventId, judgeWorstCaseMicroUsd, type JudgeSpendPort } from './judge-spend.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..');

/** A policy with two routes; `judge` settings added per test. */
function policy(judge?: PolicyDocumentInput['judge'], legalSample?: number): PolicyDocument {
  return validatePolicy({
    tiers: {
      S: { model: 's', price: { kind: 'api', usd_per_1m_prompt_tokens: 0.1, usd_per_1m_completion_tokens: 0.4 }, prompt_template: 'chat@1' },
      M: { model: 'm', price: { kind: 'api', usd_per_1m_prompt_tokens: 1, usd_per_1m_completion_tokens: 4 }, prompt_template: 'chat@1' },
    },
    slo_classes: {
      std: { p95_latency_ms: 5000, max_cost_usd: 0.01, min_quality: 0.5, allowed_tiers: ['S', 'M'], rag_allowed: true, cache_allowed: true, cache_ttl_s: 60 },
    },
    tenants: {
      'tenant-a': {
        default_route: 'qa',
        routes: {
          qa: { slo_class: 'std', template_answer: 'Later.' },
          legal: { slo_class: 'std', template_answer: 'Later.', ...(legalSample === undefined ? {} : { judge: { llm_sample: legalSample } }) },
        },
      },
    },
    classifier: { intents: [{ name: 'faq', examples: ['how do I log in?'] }], complexity_threshold: 0.5, risk_threshold: 0.5 },
    degrade: { ladder: ['serve_template'], shrink_context_max_tokens: 128 },
    ...(judge ? { judge } : {}),
  });
}

/** Versions by number, as PolicyVersions would return them from Postgres. */
class Versions implements PolicyVersionSource {
  readonly namespace = 'unit';
  reads = 0;
  constructor(private readonly byVersion: Record<number, PolicyDocument>) {}
  async document(version: number | null): Promise<PolicyDocument | undefined> {
    this.reads++;
    return version === null ? undefined : this.byVersion[version];
  }
}

/** Grants or refuses every reservation, recording what was asked. */
class Spend implements JudgeSpendPort {
  reserved: { jobId: string; attempt: number; amount: number; leaseMs: number }[] = [];
  released: string[] = [];
  constructor(private readonly refuse = false) {}
  async reserve(c: InferenceCompleted, amount: number, leaseMs: number) {
    this.reserved.push({ jobId: c.job_id, attempt: c.attempt, amount, leaseMs });
    return this.refuse ? { ok: false as const, message: 'budget_exceeded: tenant day budget (policy unit v1): limit 0.01' } : { ok: true as const };
  }
  async release(c: InferenceCompleted) {
    this.released.push(judgeReservationId(c.job_id, c.attempt));
  }
}

const reply = (pYes: number) => Response.json({ ...yesNoReply(pYes), usage: { prompt_tokens: 212, completion_tokens: 1 } });

function setup(opts: {
  versions?: PolicyVersionSource;
  spend?: JudgeSpendPort;
  env?: { S: number; M: number; L: number };
  envRoutes?: Record<string, number>;
  fetch?: typeof fetch;
}) {
  const calls: string[] = [];
  const fetchImpl: typeof fetch = async (url, init) => {
    calls.push(String(url));
    return (opts.fetch ?? (async () => reply(0.8)))(url, init);
  };
  const pool = { ...loadJudgePool(path.join(root, 'infra/pools/local-llama.json'))!, timeout_ms: 30_000 };
  const publisher = new RecordingPublisher();
  const metrics = judgeMetrics();
  const sut = judgeServiceOf({
    config: {
      JUDGE_MIN_QUALITY: 0.5,
      JUDGE_CACHE_TTL_S: 60,
      ...(opts.env ? { JUDGE_LLM_SAMPLE: opts.env } : {}),
      ...(opts.envRoutes ? { JUDGE_LLM_SAMPLE_ROUTES: opts.envRoutes } : {}),
    },
    publisher,
    metrics,
    llm: new LlmJudgeClient(pool, fetchImpl),
    versions: opts.versions ?? null,
    spend: opts.spend ?? null,
  });
  return { sut, publisher, calls, metrics, pool };
}

const completion = (over: Partial<InferenceCompleted> = {}) =>
  llmJudgeCompletion({ team: 'qa', feature: 'demo', deadline_at: Date.now() + 30_000, route: 'qa', policy_version: 1, ...over });

/** A job id the LLM judge samples at `rate` and one it does not (the hash decides; found, not assumed). */
function jobIdsAround(rate: number): { inside: string; outside: string } {
  const ids = Array.from({ length: 200 }, (_, i) => `job-${i}`);
  return { inside: ids.find((id) => sampledAtRate(id, rate))!, outside: ids.find((id) => !sampledAtRate(id, rate))! };
}

describe('LLM-judge sampling from the policy version that decided the job', () => {
  it("takes the tier's rate from the policy's judge block over the environment's", async () => {
    const versions = new Versions({ 1: policy({ llm_sample: { S: 0, M: 1 } }) });
    const { sut } = setup({ versions, env: { S: 1, M: 0, L: 0 } });
    assert.equal(await sut.llmSampleRate(completion({ tier: 'S' })), 0);
    assert.equal(await sut.llmSampleRate(completion({ tier: 'M' })), 1);
    assert.equal(await sut.llmSampleRate(completion({ tier: 'L' })), 0, 'a tier the block leaves out keeps the environment rate');
  });

  it("takes the route's override over the tiers' rates, and the environment's route override only without a policy one", async () => {
    const versions = new Versions({ 1: policy({ llm_sample: { S: 1, M: 1, L: 1 } }, 0.5) });
    const { sut } = setup({ versions, envRoutes: { qa: 0, legal: 0 } });
    assert.equal(await sut.llmSampleRate(completion({ route: 'legal', tier: 'M' })), 0.5);
    assert.equal(await sut.llmSampleRate(completion({ route: 'qa', tier: 'M' })), 1, "the policy's tier rate beats the environment's route rate");
    assert.equal(await sut.llmSampleRate(completion({ route: 'qa', tier: 'M', policy_version: null })), 0, 'no policy: the environment');
  });

  it("keeps today's defaults (S 1, M 0.25, L 0.25) without a policy, for a version without the block, and for an unknown version", async () => {
    const versions = new Versions({ 1: policy() });
    const { sut } = setup({ versions });
    for (const policy_version of [null, 1, 7]) {
      assert.deepEqual(
        [
          await sut.llmSampleRate(completion({ tier: 'S', policy_version })),
          await sut.llmSampleRate(completion({ tier: 'M', policy_version })),
          await sut.llmSampleRate(completion({ tier: 'L', policy_version })),
        ],
        [1, 0.25, 0.25],
        `policy_version ${policy_version}`,
      );
    }
    const { sut: noPolicies } = setup({});
    assert.equal(await noPolicies.llmSampleRate(completion({ tier: 'M' })), 0.25);
  });

  it('calls the LLM judge only for the jobs the policy rate samples, and a new version applies to the jobs it decided', async () => {
    const { inside, outside } = jobIdsAround(0.5);
    const versions = new Versions({ 1: policy({ llm_sample: { S: 0.5 } }), 2: policy({ llm_sample: { S: 0 } }) });
    const { sut, publisher, calls } = setup({ versions, spend: new Spend() });
    await sut.judge(completion({ job_id: inside }));
    await sut.judge(completion({ job_id: outside }));
    await sut.judge(completion({ job_id: inside, policy_version: 2 }));
    assert.equal(calls.length, 1);
    assert.deepEqual(
      publisher.on<InferenceJudged>(Topics.inferenceJudged).map((j) => [j.job_id, j.policy_version, j.judge_method]),
      [
        [inside, 1, 'LLM'],
        [outside, 1, 'DETERMINISTIC'],
        [inside, 2, 'DETERMINISTIC'],
      ],
    );
  });
});

describe('LLM-judge budget reservations (ADR 0007 "Judge calls")', () => {
  it('reserves the worst case under judge:<job>:<attempt>, then bills the call as feature judge with a deterministic usage id', async () => {
    const spend = new Spend();
    const { sut, publisher, pool, metrics } = setup({ versions: new Versions({ 1: policy() }), spend });
    await sut.judge(completion({ attempt: 2 }));
    assert.equal(spend.reserved.length, 1);
    assert.equal(spend.reserved[0]!.attempt, 2);
    assert.equal(spend.reserved[0]!.amount, judgeWorstCaseMicroUsd(pool));
    // 30 s of one GPU-hour at 3.0 USD is 0.025 USD: the pool file's price, bounded by its timeout.
    assert.equal(judgeWorstCaseMicroUsd(pool), 25_000);
    assert.ok(spend.reserved[0]!.leaseMs >= pool.timeout_ms + 60_000);
    const [usage] = publisher.on<UsageRecorded>(Topics.usageRecorded);
    assert.ok(usage);
    assert.equal(usage.event_id, judgeUsageEventId('job-1', 2));
    assert.deepEqual(
      [
        usage.kind,
        usage.feature,
        usage.tenant_id,
        usage.team,
        usage.route,
        usage.policy_version,
        usage.tier,
        usage.model,
        usage.prompt_tokens,
        usage.completion_tokens,
      ],
      ['JUDGE', JUDGE_FEATURE, 'tenant-a', 'qa', 'qa', 1, null, 'gemma-3-270m', 212, 1],
    );
    assert.equal(usage.usd_per_gpu_hour, 3);
    assert.ok(usage.gpu_seconds >= 0 && Math.abs(usage.gpu_seconds * 1000 - usage.e2e_ms) < 1e-6, 'billed GPU-seconds are the call time on one sequence');
    assert.equal(publisher.on<InferenceJudged>(Topics.inferenceJudged)[0]!.judge_method, 'LLM');
    assert.match(await metrics.llmCalls.get().then((m) => JSON.stringify(m.values)), /"outcome":"called"/);
  });

  it('skips the LLM call when the reservation is refused: cheap checks only, a reason saying so, no bill', async () => {
    const spend = new Spend(true);
    const { sut, publisher, calls, metrics } = setup({ versions: new Versions({ 1: policy() }), spend });
    await sut.judge(completion());
    assert.equal(spend.reserved.length, 1);
    assert.equal(calls.length, 0);
    assert.deepEqual(publisher.on<UsageRecorded>(Topics.usageRecorded), []);
    const [j] = publisher.on<InferenceJudged>(Topics.inferenceJudged);
    assert.equal(j!.judge_method, 'DETERMINISTIC');
    assert.equal(j!.llm_support, null);
    assert.ok(j!.reasons.includes(LLM_JUDGE_BUDGET_REFUSED), j!.reasons.join(','));
    assert.equal(j!.verdict, 'PASS', 'the cheap checks still judge the answer');
    const refused = (await metrics.llmCalls.get()).values.find((v) => v.labels.outcome === 'budget_refused');
    assert.equal(refused?.value, 1);
  });

  it('reserves nothing for an unsampled answer or a cache hit, and gives the reservation back when the call fails', async () => {
    const spend = new Spend();
    const { sut, publisher } = setup({
      versions: new Versions({ 1: policy({ llm_sample: { S: 1, M: 0 } }) }),
      spend,
      fetch: async () => new Response('busy', { status: 503 }),
    });
    await sut.judge(completion({ tier: 'M', job_id: 'job-m' }));
    await sut.judge(completion({ from_cache: true, job_id: 'job-c' }));
    assert.equal(spend.reserved.length, 0);
    await sut.judge(completion({ job_id: 'job-f' }));
    assert.deepEqual(spend.released, [judgeReservationId('job-f', 1)]);
    assert.deepEqual(publisher.on<UsageRecorded>(Topics.usageRecorded), []);
  });

  it('leases a reservation past the call timeout and the job deadline, at most a day', () => {
    assert.equal(judgeLeaseMs({ deadline_at: 1000 }, 30_000, 0), 90_000);
    assert.equal(judgeLeaseMs({ deadline_at: 600_000 }, 30_000, 0), 660_000);
    assert.equal(judgeLeaseMs({ deadline_at: 10 * 86_400_000 }, 30_000, 0), 86_400_000);
    assert.equal(judgeWorstCaseMicroUsd({ timeout_ms: 30_000 }), 1, 'no price: the least amount a budget at its limit still refuses');
  });
});
