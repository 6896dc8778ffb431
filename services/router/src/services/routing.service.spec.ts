import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HashingEmbedder } from '@llmgov/embeddings';
import { indexVersion, QdrantVectorStore } from '@llmgov/vector-store';
import { PlatformMetrics } from '@llmgov/observability';
import { RecordingPublisher } from '@llmgov/testing';
import { Topics, type InferenceRequestRouted, type InferenceRequestValidated } from '@llmgov/contracts';
import type { EventPublisher } from '@llmgov/kafka-runtime';
import type {
  AnswerCacheRepository,
  BudgetReservations,
  BudgetSpendRepository,
  EffectMarkersRepository,
  IndexVersionRecord,
  JobFlagsRepository,
} from '@llmgov/persistence';
import { loadRouterConfig } from '../config.js';
import { RoutingService } from './routing.service.js';
import type { ActivePolicySource } from '../adapters/active-policy.js';
import type { TenantIndexVersions } from '../adapters/index-versions.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(
  readFileSync(path.resolve(here, '../../../../../schemas/fixtures/inference.request.validated.v1/valid-full.json'), 'utf8'),
) as InferenceRequestValidated;

/** Redis-state doubles: no cancel flag, no cached answer, no spend. */
const jobFlags = { isCancelled: async () => false } as unknown as JobFlagsRepository;
const answers = { get: async () => undefined } as unknown as AnswerCacheRepository;
const spend = { monthToDateMicroUsd: async () => 0 } as unknown as BudgetSpendRepository;
/** Effect markers in memory. */
const markerDouble = () => {
  const keys = new Set<string>();
  return { isDone: async (k: string) => keys.has(k), markDone: async (k: string) => void keys.add(k) } as unknown as EffectMarkersRepository;
};

describe(`${RoutingService.name} with the Qdrant adapter (production retrieval)`, () => {
  let server: Server;
  let url: string;
  const queries: Record<string, unknown>[] = [];
  const paths: string[] = [];

  before(async () => {
    // Answers Qdrant's query endpoint with one hit; records the request bodies.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        paths.push(req.url ?? '');
        queries.push(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            status: 'ok',
            time: 0,
            result: { points: [{ id: 1, score: 0.5, version: 1, payload: { chunkId: 'd1#0', documentId: 'd1', text: 'Bernadette Soubirous' } }] },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** The service against the Qdrant stub, with in-memory Redis-state doubles and a recording publisher. */
  const setup = (mode: 'hybrid' | 'sparse', pinned?: string, versions?: TenantIndexVersions) => {
    const publisher = new RecordingPublisher();
    const sut = new RoutingService(
      { ...loadRouterConfig(), RETRIEVAL_MODE: mode, VECTOR_COLLECTION_VERSION: pinned },
      jobFlags,
      answers,
      spend,
      markerDouble(),
      new QdrantVectorStore({ url }),
      new HashingEmbedder({ dimensions: 8 }),
      publisher as unknown as EventPublisher,
      { current: () => undefined, forJob: () => undefined, shadowFor: () => undefined } as unknown as ActivePolicySource,
      {} as unknown as BudgetReservations,
      new PlatformMetrics('spec'),
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      versions,
    );
    return { sut, publisher };
  };

  for (const mode of ['hybrid', 'sparse'] as const) {
    it(`routes a RAG request in ${mode} mode: the query carries the BM25 sparse vector Qdrant needs`, async () => {
      queries.length = 0;
      const { sut, publisher } = setup(mode);
      const req: InferenceRequestValidated = { ...fixture, occurred_at: Date.now() };
      assert.equal((await sut.route(req)).status, 'success');
      const routed = [
        ...publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedS),
        ...publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedM),
        ...publisher.on<InferenceRequestRouted>(Topics.inferenceRoutedL),
      ];
      assert.equal(routed.length, 1);
      assert.deepEqual(
        routed[0]!.context.map((c) => c.document_id),
        ['d1'],
      );
      assert.equal(routed[0]!.prompt_template, null, "routed without a policy: the worker renders its pool's own template");
      const body = JSON.stringify(queries.at(-1));
      assert.match(body, /"indices":\[\d/, 'a non-empty sparse query vector was sent');
      assert.match(body, /"using":"sparse"/);
    });
  }

  it("searches the collection of the query vector's embedding space, named as the indexer names it, or the pinned one", async () => {
    const embedder = new HashingEmbedder({ dimensions: 8 });
    const expected = indexVersion({ model: embedder.model, modelVersion: embedder.modelVersion, dimensions: 8 });
    assert.match(expected, /^chunks_local-hashing-ngram-v1-[0-9a-f]{8}_8_v1$/);
    paths.length = 0;
    await setup('hybrid').sut.route({ ...fixture, job_id: 'space-derived', occurred_at: Date.now() });
    assert.deepEqual(paths, [`/collections/${expected}/points/query`]);
    paths.length = 0;
    await setup('hybrid', 'chunks_pinned').sut.route({ ...fixture, job_id: 'space-pinned', occurred_at: Date.now() });
    assert.deepEqual(paths, ['/collections/chunks_pinned/points/query']);
  });

  it("searches a re-indexed tenant's active version, with a query vector of that version's model (issue 12 §2)", async () => {
    const version: IndexVersionRecord = {
      tenantId: fixture.tenant_id,
      version: 'v2',
      collection: 'chunks_tenant-v2_16_v2',
      state: 'active',
      embeddings: 'local',
      embeddingsUrl: null,
      model: 'local-hashing-ngram',
      modelVersion: 'v1',
      dimensions: 16,
      chunkTokens: 64,
      chunkOverlap: 0,
    };
    const other = new HashingEmbedder({ dimensions: 16 });
    const versions = {
      get: (t: string) => (t === fixture.tenant_id ? version : undefined),
      clientFor: () => other,
    } as unknown as TenantIndexVersions;
    paths.length = 0;
    queries.length = 0;
    await setup('hybrid', undefined, versions).sut.route({ ...fixture, job_id: 'space-versioned', occurred_at: Date.now() });
    assert.deepEqual(paths, ['/collections/chunks_tenant-v2_16_v2/points/query']);
    const dense = JSON.stringify(queries.at(-1)).match(/"query":\[([^\]]*)\]/);
    assert.equal(dense?.[1]?.split(',').length, 16, "the dense query has the version's 16 dimensions, not the router's 8");
    paths.length = 0;
    await setup('hybrid', undefined, versions).sut.route({ ...fixture, tenant_id: 'tenant-other', job_id: 'space-other', occurred_at: Date.now() });
    assert.match(paths[0]!, /_8_v1\/points\/query$/, 'a tenant without a version keeps the shared collection');
  });

  it('routes a request once: a redelivery after the decision was published is skipped', async () => {
    const { sut, publisher } = setup('hybrid');
    const req: InferenceRequestValidated = { ...fixture, occurred_at: Date.now() };
    assert.equal((await sut.route(req)).status, 'success');
    assert.deepEqual(await sut.route(req), { status: 'skipped', reason: 'already routed (redelivered)' });
    assert.equal(publisher.sent.filter((r) => r.topic.startsWith('inference.request.routed')).length, 1);
  });
});
