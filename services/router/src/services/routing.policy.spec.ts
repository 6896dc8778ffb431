/**
 * The router's governed path with the real local policy (infra/policies/local.yaml) and in-memory doubles for Redis,
 * the vector store and the budget reservations: what each decision publishes, and that every outcome carries the
 * policy version, the route and the decision's reasons.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HashingEmbedder } from '@llmgov/embeddings';
import { PlatformMetrics } from '@llmgov/observability';
import { RecordingPublisher } from '@llmgov/testing';
import { type PolicyTier, type TierCapacitySignal } from '@llmgov/policy';
import { Topics, type InferenceCompleted, type InferenceRequestRouted, type JobStatusChanged } from '@llmgov/contracts';
import type { EventPublisher } from '@llmgov/kafka-runtime';
import type {
  AnswerCacheRepository,
  BudgetReservations,
  BudgetSpendRepository,
  EffectMarkersRepository,
  ExactCacheEntry,
  JobFlagsRepository,
  ReserveRequest,
} from '@llmgov/persistence';
import type { VectorStore } from '@llmgov/vector-store';
import { loadRouterConfig } from '../config.js';
import type { ActivePolicySource, PolicySnapshot } from '../adapters/active-policy.js';
import type { CapacitySignalSource } from '../adapters/capacity-signals.js';
import type { PinnedPolicySource } from '../adapters/pinned-policy.js';
import { localPolicyDocument, validatedRequest } from './spec-fixtures.js';
import { RoutingService, shedsShadowCopy, shrinkContext } from './routing.service.js';

const document = localPolicyDocument();
const request = validatedRequest;

/** How the reservation double answers the n-th reservation (1-based): refused with a throttle and what is left, or reserved. */
type Refusal = { throttle: 'degrade' | 'refuse'; remainingMicroUsd: number } | null;

function setup(
  opts: {
    cached?: ExactCacheEntry;
    refuse?: boolean | ((r: ReserveRequest, n: number) => Refusal);
    capacity?: Partial<Record<PolicyTier, TierCapacitySignal>>;
    /** An open shadow copying every job (100 %), deciding with this document as version 5. */
    shadow?: typeof document;
    /** Versions a request (or a shadow run) can be pinned to. */
    pinned?: Record<number, typeof document>;
  } = {},
) {
  const publisher = new RecordingPublisher();
  const reserved: ReserveRequest[] = [];
  const refusalOf = (r: ReserveRequest, n: number): Refusal =>
    typeof opts.refuse === 'function' ? opts.refuse(r, n) : opts.refuse ? { throttle: 'degrade', remainingMicroUsd: 0 } : null;
  const reservations = {
    reserve: async (r: ReserveRequest) => {
      reserved.push(r);
      const refusal = refusalOf(r, reserved.length);
      return refusal
        ? {
            ok: false,
            status: 'refused',
            reservationId: r.reservationId,
            refusals: [],
            ...refusal,
            message: 'budget_exceeded: tenant day budget 2026-11-05: limit 1',
          }
        : { ok: true, status: 'reserved', reservationId: r.reservationId, amountMicroUsd: r.amountMicroUsd, leaseUntil: Date.now() + r.leaseMs };
    },
  } as unknown as BudgetReservations;
  const store = {
    search: async () => [
      { chunkId: 'd1#0', documentId: 'd1', text: 'Super Bowl 50 was played at Levi Stadium in Santa Clara.', score: 0.9 },
      { chunkId: 'd2#0', documentId: 'd2', text: 'The Broncos won.', score: 0.5 },
    ],
  } as unknown as VectorStore;
  const snapshot: PolicySnapshot = { version: 4, document, classifier: null };
  const sut = new RoutingService(
    { ...loadRouterConfig(), EMBEDDINGS: 'local' },
    { isCancelled: async () => false } as unknown as JobFlagsRepository,
    { get: async () => opts.cached } as unknown as AnswerCacheRepository,
    {} as unknown as BudgetSpendRepository,
    { isDone: async () => false, markDone: async () => undefined } as unknown as EffectMarkersRepository,
    store,
    new HashingEmbedder({ dimensions: 8 }),
    publisher as unknown as EventPublisher,
    {
      current: () => snapshot,
      forJob: () => snapshot,
      shadowFor: () => (opts.shadow ? { id: 1, percent: 100, snapshot: { version: 5, document: opts.shadow, classifier: null } } : undefined),
    } as unknown as ActivePolicySource,
    reservations,
    new PlatformMetrics('spec'),
    { signals: () => opts.capacity ?? {} } as unknown as CapacitySignalSource,
    undefined,
    {
      lookup: async (metadata: Record<string, string> | undefined) => {
        const v = Number(metadata?.policy_version);
        const doc = opts.pinned?.[v];
        return metadata?.policy_version === undefined
          ? { kind: 'none' }
          : doc
            ? { kind: 'pinned', snapshot: { version: v, document: doc, classifier: null } }
            : { kind: 'invalid', reason: `pinned policy version ${v} does not exist` };
      },
    } as unknown as PinnedPolicySource,
  );
  return { sut, publisher, reserved };
}

describe('RoutingService under a policy', () => {
  it('shadow: copies the job as shadow:<job id> under the shadow version, team shadow, with no reservation and no job status', async () => {
    // The shadow version sends squad-qa to tier M (min tier M), so the copy is told apart from the stable S decision.
    const shadowDoc = structuredClone(document);
    shadowDoc.slo_classes['standard']!.allowed_tiers = ['M'];
    // A prompt version of its own for M, so the copy's template is seen to come from the shadow version.
    shadowDoc.tiers.M!.prompt_template = 'rag-chat-no-context@1';
    const { sut, publisher, reserved } = setup({ shadow: shadowDoc });
    await sut.route(request());
    const [stable] = publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedS);
    assert.equal(stable?.job_id, 'job-1');
    assert.equal(stable.shadow, false);
    assert.equal(stable.policy_version, 4);
    const copies = [Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL]
      .flatMap((t) => publisher.on<InferenceRequestRouted>(t))
      .filter((r) => r.shadow);
    assert.equal(copies.length, 1);
    const copy = copies[0]!;
    assert.equal(copy.job_id, 'shadow:job-1');
    assert.equal(copy.policy_version, 5);
    assert.equal(copy.team, 'shadow');
    assert.notEqual(copy.tier, 'S');
    assert.equal(copy.prompt_template, 'rag-chat-no-context@1', "the shadow version's template for the copy's tier");
    assert.equal(stable.prompt_template, document.tiers.S!.prompt_template);
    assert.notEqual(copy.event_id, stable.event_id);
    assert.notEqual(copy.cache_key, stable.cache_key);
    assert.deepEqual(
      reserved.map((r) => r.reservationId),
      ['job:job-1:1'],
      'only the user job reserves budget',
    );
    assert.ok(
      publisher.on<JobStatusChanged>(Topics.jobStatus).every((s) => s.job_id === 'job-1'),
      'no job status for the copy',
    );
  });

  it('shadow: the capacity gate sheds the copy when its tier queues past half the SLO p95, the user job is served as usual', async () => {
    const shadowDoc = structuredClone(document);
    shadowDoc.slo_classes['standard']!.allowed_tiers = ['M'];
    // standard: p95 30 s. M waits 14 s + 2 s service > 15 s: the copy is shed; a user job would still fit (14 s <= 30 s).
    const { sut, publisher, reserved } = setup({ shadow: shadowDoc, capacity: { M: { queueWaitMs: 14_000, serviceMs: 2_000 } } });
    await sut.route(request());
    const all = [Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL].flatMap((t) => publisher.on<InferenceRequestRouted>(t));
    assert.deepEqual(
      all.map((r) => [r.job_id, r.shadow]),
      [['job-1', false]],
    );
    assert.equal(reserved.length, 1);
  });

  it('shedsShadowCopy: no queue never sheds; past half the p95 with a queue sheds', () => {
    assert.equal(shedsShadowCopy(undefined, 1000), false);
    assert.equal(shedsShadowCopy({ queueWaitMs: 0, serviceMs: 10_000 }, 1000), false, 'an idle tier takes the copy, however slow');
    assert.equal(shedsShadowCopy({ queueWaitMs: 200, serviceMs: 300 }, 1000), false, 'exactly half is kept');
    assert.equal(shedsShadowCopy({ queueWaitMs: 201, serviceMs: 300 }, 1000), true);
    assert.equal(shedsShadowCopy({ queueWaitMs: Infinity, serviceMs: 0 }, 1000), true);
  });

  it('shadow run: a copy a run republished is decided only as shadow:<run id>:<job id> by the run’s version, with no user effect', async () => {
    const candidate = structuredClone(document);
    candidate.slo_classes['standard']!.allowed_tiers = ['M'];
    const { sut, publisher, reserved } = setup({ pinned: { 9: candidate } });
    const outcome = await sut.route(request({ metadata: { policy_version: '9' } }), { 'replay.id': 'sr-20261129-a1', 'replay.target': 'shadow:9' });
    assert.equal(outcome.status, 'success');
    const all = [Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL].flatMap((t) => publisher.on<InferenceRequestRouted>(t));
    assert.deepEqual(
      all.map((r) => [r.job_id, r.shadow, r.team, r.policy_version, r.tier]),
      [['shadow:sr-20261129-a1:job-1', true, 'shadow', 9, 'M']],
    );
    assert.equal(reserved.length, 0, 'a run copy reserves nothing');
    assert.equal(publisher.on<JobStatusChanged>(Topics.jobStatus).length, 0, 'no job status: the user job is untouched');
  });

  it('shadow run: a copy the capacity gate sheds ends with a failed status of the copy id (the run reports it), never of the user job', async () => {
    const candidate = structuredClone(document);
    candidate.slo_classes['standard']!.allowed_tiers = ['M'];
    const { sut, publisher } = setup({ pinned: { 9: candidate }, capacity: { M: { queueWaitMs: 14_000, serviceMs: 2_000 } } });
    await sut.route(request({ metadata: { policy_version: '9' } }), { 'replay.id': 'sr-1', 'replay.target': 'shadow:9' });
    const statuses = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.deepEqual(
      statuses.map((e) => [e.job_id, e.state, e.error?.code]),
      [['shadow:sr-1:job-1', 'failed', 'shed_capacity']],
    );
    assert.equal([Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL].flatMap((t) => publisher.on(t)).length, 0);
  });

  it('shadow: a live copy the capacity gate sheds publishes nothing at all', async () => {
    const candidate = structuredClone(document);
    candidate.slo_classes['standard']!.allowed_tiers = ['M'];
    const { sut, publisher } = setup({ shadow: candidate, capacity: { M: { queueWaitMs: 14_000, serviceMs: 2_000 } } });
    await sut.route(request());
    assert.ok(publisher.on<JobStatusChanged>(Topics.jobStatus).every((e) => e.job_id === 'job-1'));
  });

  it('shadow run: a version the namespace lacks, or a hostile run id, is skipped with the reason and publishes nothing', async () => {
    const { sut, publisher } = setup({ pinned: {} });
    const missing = await sut.route(request({ metadata: { policy_version: '9' } }), { 'replay.id': 'sr-1', 'replay.target': 'shadow:9' });
    assert.equal(missing.status, 'skipped');
    assert.match(missing.status === 'skipped' ? missing.reason : '', /version 9 does not exist/);
    const hostile = await sut.route(request(), { 'replay.id': 'sr-1:../../x', 'replay.target': 'shadow:9' });
    assert.equal(hostile.status, 'skipped');
    assert.match(hostile.status === 'skipped' ? hostile.reason : '', /not a shadow run id/);
    assert.equal(publisher.sent.length, 0);
  });

  it('shadow: a pinned request (an eval) is never copied', async () => {
    const { sut, publisher } = setup({ shadow: document });
    await sut.route(request({ metadata: { policy_version: '4' } }));
    const all = [Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL].flatMap((t) => publisher.on<InferenceRequestRouted>(t));
    assert.equal(all.filter((r) => r.shadow).length, 0);
  });

  it('routes the default route by policy: tier, RAG, a reservation, and the version, route and reasons on the routed event', async () => {
    const { sut, publisher, reserved } = setup();
    await sut.route(request());
    const [routed] = publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedS);
    assert.ok(routed, 'routed to tier S: the cheapest tier whose expected quality meets 0.5');
    assert.equal(routed.route, 'squad-qa');
    assert.equal(routed.policy_version, 4);
    assert.equal(routed.model, document.tiers.S!.model);
    assert.deepEqual(routed.decision_reasons, ['cheapest_tier_meeting_quality→S']);
    assert.equal(routed.context.length, 2);
    assert.equal(reserved.length, 1);
    assert.equal(reserved[0]!.reservationId, 'job:job-1:1');
    assert.equal(reserved[0]!.route, 'squad-qa');
    assert.ok(reserved[0]!.amountMicroUsd > 0);
  });

  it("stamps the deciding version's prompt template of the tier the job is routed to", async () => {
    const { sut, publisher } = setup();
    await sut.route(request());
    assert.equal(publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedS)[0]?.prompt_template, 'squad-chat-smollm2@1');
    // The same version rerouting to M (tier S queues past the budget) stamps M's template, not S's.
    const rerouted = setup({ capacity: { S: { queueWaitMs: 45_000, serviceMs: 1_500 }, M: { queueWaitMs: 0, serviceMs: 2_000 } } });
    await rerouted.sut.route(request());
    assert.equal(rerouted.publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedM)[0]?.prompt_template, 'squad-completions-gemma@1');
  });

  it('capacity gate: a tier S whose queue wait breaks the 30 s budget reroutes to M, with its reason on the routed event', async () => {
    const { sut, publisher } = setup({ capacity: { S: { queueWaitMs: 45_000, serviceMs: 1_500 }, M: { queueWaitMs: 0, serviceMs: 2_000 } } });
    await sut.route(request());
    assert.equal(publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedS).length, 0);
    const [routed] = publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedM);
    assert.deepEqual(routed?.decision_reasons, ['cheapest_tier_meeting_quality→S', 'capacity_wait_over_budget_S→reroute_M']);
  });

  it('capacity gate: a saturated S on an S-only route degrades along its ladder to the template answer', async () => {
    const { sut, publisher } = setup({ capacity: { S: { queueWaitMs: Infinity, serviceMs: 500 } } });
    await sut.route(request({ route: 'support-faq' }));
    assert.equal(publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedS).length, 0);
    const [status] = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.equal(status?.result?.finish_reason, 'template');
    assert.equal(status?.result?.decision_reasons.at(-1), 'capacity_wait_over_budget_S→serve_template');
  });

  it('a fast route (p95 700 ms, RAG not allowed) gets no retrieval and tier S', async () => {
    const { sut, publisher } = setup();
    await sut.route(request({ route: 'support-faq' }));
    const [routed] = publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedS);
    assert.deepEqual(routed?.context, []);
    assert.deepEqual(routed?.decision_reasons, ['rag_not_allowed→no_rag', 'latency_budget_lt_800ms→prefer_S']);
  });

  it('a high-quality route goes to M or L, never S', async () => {
    const { sut, publisher } = setup();
    await sut.route(request({ route: 'contract-review' }));
    const tiers = [Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL].map((t) => publisher.on<InferenceRequestRouted>(t).length);
    assert.equal(tiers[0], 0);
    assert.equal(tiers[1]! + tiers[2]!, 1);
  });

  it('fails a request naming a route its tenant does not have, saying which', async () => {
    const { sut, publisher } = setup();
    await sut.route(request({ route: 'no-such-route' }));
    const [status] = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.equal(status?.state, 'failed');
    assert.equal(status?.error?.code, 'unknown_route');
    assert.match(status?.error?.message ?? '', /no-such-route/);
  });

  it('a refused reservation re-decides with no budget left: the route template answers, carrying the reasons', async () => {
    const { sut, publisher } = setup({ refuse: true });
    await sut.route(request());
    assert.equal(publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedS).length, 0);
    const [status] = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.equal(status?.state, 'completed');
    assert.equal(status?.result?.finish_reason, 'template');
    assert.equal(status?.result?.text, document.tenants['tenant-a']!.routes['squad-qa']!.template_answer);
    assert.equal(status?.result?.policy_version, 4);
    assert.ok(status?.result?.decision_reasons.includes('budget_reservation_refused_degrade→redecide'));
    assert.ok(status?.result?.decision_reasons.includes('projected_cost_over_budget→serve_template'));
  });

  it('a degrade budget with money left re-decides within it: a cheaper decision is reserved and routed', async () => {
    let firstAmount = 0;
    const { sut, publisher, reserved } = setup({
      refuse: (r, n) => {
        if (n > 1) return null;
        firstAmount = r.amountMicroUsd;
        return { throttle: 'degrade', remainingMicroUsd: Math.floor(r.amountMicroUsd / 2) };
      },
    });
    await sut.route(request({ options: { max_tokens: 32, temperature: 0, rag: true, tier_hint: 'M' } }));
    assert.equal(reserved.length, 2);
    assert.ok(reserved[1]!.amountMicroUsd <= Math.floor(firstAmount / 2), `${reserved[1]!.amountMicroUsd} fits the ${Math.floor(firstAmount / 2)} left`);
    const routed = [...publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedS), ...publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedM)];
    assert.equal(routed.length, 1);
    const reasons = routed[0]!.decision_reasons;
    assert.ok(reasons.includes('budget_reservation_refused_degrade→redecide'), reasons.join(', '));
    assert.ok(
      reasons.some((r) => /^projected_cost_over_budget→(lower_tier_S|shrink_context)$/.test(r)),
      reasons.join(', '),
    );
  });

  it('a refuse budget fails the job with budget_exceeded and the refusal message, and tries nothing cheaper', async () => {
    const { sut, publisher, reserved } = setup({ refuse: (r) => ({ throttle: 'refuse', remainingMicroUsd: r.amountMicroUsd - 1 }) });
    await sut.route(request());
    assert.equal(reserved.length, 1);
    const [status] = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.equal(status?.state, 'failed');
    assert.equal(status?.error?.code, 'budget_exceeded');
    assert.match(status?.error?.message ?? '', /budget_reservation_refused_refuse→redecide, .*budget_spent→refuse; budget_exceeded: tenant day budget/);
  });

  it('serves a cached answer that met the quality bar, stamped with the policy decision', async () => {
    const cached: ExactCacheEntry = { text: 'Levi Stadium', finish_reason: 'stop', model: 'gemma-3-270m', tier: 'M', context: [], quality: 0.9 };
    const { sut, publisher, reserved } = setup({ cached });
    await sut.route(request());
    const [completed] = publisher.on<InferenceCompleted>(Topics.inferenceCompleted);
    assert.equal(completed?.from_cache, true);
    assert.equal(completed?.text, 'Levi Stadium');
    assert.deepEqual(completed?.decision_reasons, ['exact_cache_hit_meets_quality→serve_cache']);
    assert.equal(reserved.length, 0, 'a cached answer reserves nothing');
  });

  it('does not serve a cached answer below the quality bar', async () => {
    const cached: ExactCacheEntry = { text: 'x', finish_reason: 'stop', model: 'm', tier: 'S', context: [], quality: 0.1 };
    const { sut, publisher } = setup({ cached });
    await sut.route(request());
    assert.equal(publisher.on<InferenceCompleted>(Topics.inferenceCompleted).length, 0);
    assert.equal(publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedS).length, 1);
  });
});

describe('shrinkContext', () => {
  it('keeps the leading whole chunks that fit the token budget', () => {
    const chunk = (id: string, words: number) => ({ chunk_id: id, document_id: id, text: Array.from({ length: words }, () => 'word').join(' '), score: 1 });
    const kept = shrinkContext([chunk('a', 10), chunk('b', 10), chunk('c', 10)], 25);
    assert.deepEqual(
      kept.map((c) => c.chunk_id),
      ['a', 'b'],
    );
    assert.deepEqual(shrinkContext([chunk('a', 10)], 0), []);
  });
});
