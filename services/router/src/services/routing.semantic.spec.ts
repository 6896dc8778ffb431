/**
 * The router's semantic cache layer under the real local policy (infra/policies/local.yaml), with an in-memory double of
 * the layer: exact first, then semantic; a semantic hit is served only when it met the request's quality bar, with
 * `semantic_cache_hit_meets_quality→serve_cache` in its reasons; an inferred job leaves the judge its fill instructions
 * (TTL from the policy, scope and vector).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HashingEmbedder } from '@llmgov/embeddings';
import { PlatformMetrics } from '@llmgov/observability';
import { RecordingPublisher } from '@llmgov/testing';
import { Topics, type InferenceCompleted, type InferenceRequestRouted } from '@llmgov/contracts';
import type { EventPublisher } from '@llmgov/kafka-runtime';
import type {
  AnswerCacheRepository,
  BudgetReservations,
  BudgetSpendRepository,
  EffectMarkersRepository,
  ExactCacheEntry,
  JobFlagsRepository,
  PendingCacheFill,
  ReserveRequest,
  SemanticCacheEntry,
  SemanticCacheLayer,
  SemanticLookupOptions,
  SemanticScope,
} from '@llmgov/persistence';
import type { VectorStore } from '@llmgov/vector-store';
import { loadRouterConfig } from '../config.js';
import type { ActivePolicySource, PolicySnapshot } from '../adapters/active-policy.js';
import { localPolicyDocument, validatedRequest } from './spec-fixtures.js';
import { RoutingService } from './routing.service.js';

const document = localPolicyDocument();
const request = validatedRequest;

const semanticEntry = (quality: number): SemanticCacheEntry => ({
  id: 'job-0',
  route: 'squad-qa',
  text: 'Levi Stadium',
  finish_reason: 'stop',
  model: 'smollm2',
  tier: 'S',
  context: [{ chunk_id: 'd1#0', document_id: 'd1', text: 'Levi Stadium', score: 1 }],
  quality,
  source_prompt: 'Where was Super Bowl 50 played?',
  chunk_ids: ['d1#0'],
  document_ids: ['d1'],
  intent: null,
  created_at: 0,
  expires_at: Date.now() + 60_000,
});

function setup(opts: { exact?: ExactCacheEntry; semantic?: SemanticCacheEntry } = {}) {
  const publisher = new RecordingPublisher();
  const reserved: ReserveRequest[] = [];
  const lookups: { scope: SemanticScope; options: SemanticLookupOptions }[] = [];
  const pending: { jobId: string; p: PendingCacheFill }[] = [];
  const hits: { jobId: string; entry_id: string; similarity: number }[] = [];
  const layer = {
    store: {
      lookup: async (scope: SemanticScope, _q: ArrayLike<number>, options: SemanticLookupOptions) => {
        lookups.push({ scope, options });
        return { entry: opts.semantic, similarity: opts.semantic ? 0.97 : 0.4, threshold: 0.95, thresholdSource: 'policy', scanned: 3 };
      },
    },
    records: {
      setPending: async (jobId: string, p: PendingCacheFill) => void pending.push({ jobId, p }),
      recordHit: async (jobId: string, h: { entry_id: string; similarity: number }) => void hits.push({ jobId, ...h }),
    },
  } as unknown as SemanticCacheLayer;
  const reservations = {
    reserve: async (r: ReserveRequest) => {
      reserved.push(r);
      return { ok: true, status: 'reserved', reservationId: r.reservationId, amountMicroUsd: r.amountMicroUsd, leaseUntil: Date.now() + r.leaseMs };
    },
  } as unknown as BudgetReservations;
  const store = {
    search: async () => [{ chunkId: 'd1#0', documentId: 'd1', text: 'Super Bowl 50 was played at Levi Stadium in Santa Clara.', score: 0.9 }],
  } as unknown as VectorStore;
  const snapshot: PolicySnapshot = { version: 4, document, classifier: null };
  const sut = new RoutingService(
    { ...loadRouterConfig(), EMBEDDINGS: 'local' },
    { isCancelled: async () => false } as unknown as JobFlagsRepository,
    { get: async () => opts.exact } as unknown as AnswerCacheRepository,
    {} as unknown as BudgetSpendRepository,
    { isDone: async () => false, markDone: async () => undefined } as unknown as EffectMarkersRepository,
    store,
    new HashingEmbedder({ dimensions: 8 }),
    publisher as unknown as EventPublisher,
    { current: () => snapshot, forJob: () => snapshot, shadowFor: () => undefined } as unknown as ActivePolicySource,
    reservations,
    new PlatformMetrics('spec'),
    undefined,
    layer,
  );
  return { sut, publisher, reserved, lookups, pending, hits };
}

describe('RoutingService: the semantic cache layer', () => {
  it('serves a semantic hit that met the quality bar, says so in the reasons and records which entry answered', async () => {
    const { sut, publisher, reserved, lookups, hits } = setup({ semantic: semanticEntry(0.9) });
    await sut.route(request());
    const [completed] = publisher.on<InferenceCompleted>(Topics.inferenceCompleted);
    assert.equal(completed?.from_cache, true);
    assert.equal(completed?.text, 'Levi Stadium');
    assert.deepEqual(completed?.decision_reasons, ['semantic_cache_hit_meets_quality→serve_cache']);
    assert.equal(reserved.length, 0);
    assert.equal(lookups.length, 1);
    assert.equal(lookups[0]!.scope.tenantId, 'tenant-a');
    assert.equal(lookups[0]!.scope.route, 'squad-qa');
    assert.equal(lookups[0]!.options.defaultThreshold, 0.95, 'the policy default (SEMANTIC_CACHE_DEFAULTS)');
    assert.deepEqual(hits, [
      { jobId: 'job-1', entry_id: 'job-0', source_prompt: 'Where was Super Bowl 50 played?', similarity: 0.97, threshold: 0.95, route: 'squad-qa' },
    ]);
  });

  it('does not serve a semantic hit below the quality bar: infers, with the reason', async () => {
    const { sut, publisher } = setup({ semantic: semanticEntry(0.2) });
    await sut.route(request());
    assert.equal(publisher.on<InferenceCompleted>(Topics.inferenceCompleted).length, 0);
    const [routed] = publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedS);
    assert.ok(routed?.decision_reasons.includes('semantic_cache_hit_below_quality→skip_cache'));
  });

  it('tries the exact layer first: an exact hit asks the semantic layer nothing', async () => {
    const exact: ExactCacheEntry = { text: 'exact', finish_reason: 'stop', model: 'm', tier: 'M', context: [], quality: 0.9 };
    const { sut, publisher, lookups } = setup({ exact, semantic: semanticEntry(0.9) });
    await sut.route(request());
    assert.equal(lookups.length, 0);
    assert.deepEqual(publisher.on<InferenceCompleted>(Topics.inferenceCompleted)[0]?.decision_reasons, ['exact_cache_hit_meets_quality→serve_cache']);
  });

  it('keeps scopes apart by route and system prompt', async () => {
    const a = setup();
    await a.sut.route(request());
    const b = setup();
    await b.sut.route(request({ system_prompt: 'Answer in French.' }));
    const c = setup();
    await c.sut.route(request({ route: 'support-faq' }));
    const keys = [a, b, c].map((s) => s.lookups[0]!.scope.key);
    assert.equal(new Set(keys).size, 3);
  });

  it('an inferred job leaves the judge its fill instructions: the TTL of its SLO class, the scope and the query vector', async () => {
    const { sut, pending, lookups } = setup();
    await sut.route(request());
    assert.equal(pending.length, 1);
    const p = pending[0]!.p;
    assert.equal(pending[0]!.jobId, 'job-1');
    assert.equal(p.ttl_s, document.slo_classes['standard']!.cache_ttl_s);
    assert.equal(p.scope, lookups[0]!.scope.key);
    assert.equal(p.route, 'squad-qa');
    assert.equal(Buffer.from(p.vector_b64!, 'base64').length, 8 * 4, 'the 8-dimension query vector as float32');
  });

  it('a route whose class allows no cache looks nothing up and leaves a TTL of 0 (nothing is cached)', async () => {
    const { sut, pending, lookups } = setup({ semantic: semanticEntry(0.99) });
    await sut.route(request({ route: 'contract-review' }));
    assert.equal(lookups.length, 0);
    assert.equal(pending[0]?.p.ttl_s, 0);
  });
});
