/**
 * Issue 12 §2 "done when": a tenant is re-indexed to a new embedding model under live load, with zero failed jobs, and
 * rolled back. Against the real local stack with all eight services and the sim engines (vllm-sim, the hashing
 * embedder) in their own topic namespace and vector-store folder:
 * - SQuAD paragraphs are indexed through the pipeline (64-dimension hashing embedder, the shared collection);
 * - jobs (SQuAD questions, RAG on) are submitted without pause before, during and after `runReindex` moves the tenant
 *   to a 128-dimension model configuration (another embedding space, another collection) — `llmgov reindex` runs the
 *   same function; a document submitted during the re-index reaches the new version too (the embedder writes building
 *   versions);
 * - every job completes, and every one retrieved context (none saw an empty index: the old version serves until the
 *   verified swap); recall@5 on the golden set is printed before and after;
 * - `rollbackReindex` moves the tenant back; jobs after it complete too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { createKafka, deleteNamespace } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { chunkText, HashingEmbedder, HASHING_EMBEDDER_MODEL, HASHING_EMBEDDER_VERSION } from '@llmgov/embeddings';
import { createPgPool, createRedis, RedisSemanticCache, type Pool, type Redis } from '@llmgov/persistence';
import { indexVersion, vectorStoreFromSettings, type VectorStore } from '@llmgov/vector-store';
import { bearerJsonApi, eventually } from '@llmgov/testing';
import { bootstrapPlatform, repoRoot, startPlatform, type RunningPlatform } from '@llmgov/platform';
import { activeVersion, parseEmbeddingModel, registerBaseline, rollbackReindex, runReindex, tenantAlias } from '../src/reindex.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-rx.${run}.`;
const TENANT = `rx-live-${run}`;
const KEY = `key-rx-live-${run}-0001`;
const DIMS = 64;
const CHUNK = 96;
const GOLDEN = `rx-golden-${run}`;
const PARAGRAPHS = 24;
const LIVE = indexVersion({ model: HASHING_EMBEDDER_MODEL, modelVersion: HASHING_EMBEDDER_VERSION, dimensions: DIMS });

interface Squad {
  data: { title: string; paragraphs: { context: string; qas: { id: string; question: string; answers: { text: string }[] }[] }[] }[];
}
const squad = JSON.parse(readFileSync(path.join(repoRoot(), '..', 'shared', 'data', 'squad-v1.1-dev-subset.json'), 'utf8')) as Squad;
const paragraphs = squad.data
  .flatMap((a) => a.paragraphs.map((p) => ({ title: a.title, ...p })))
  .slice(0, PARAGRAPHS)
  .map((p, i) => ({ id: `p-${i}`, ...p }));
const questions = paragraphs.flatMap((p) => p.qas.map((q) => ({ ...q, documentId: p.id })));

let platform: RunningPlatform | undefined;
let api: string;
let kafka: Kafka;
let pool: Pool;
let redis: Redis;
let store: VectorStore;
let dir: string;
/** Stops the load generators that are still running (after a failed assertion). */
const stopTraffic: (() => Promise<unknown>)[] = [];

const http = bearerJsonApi(() => api, KEY);

interface JobView {
  status: string;
  result: { retrieved_document_ids: string[] } | null;
  error: unknown;
}

/** Submits questions one after the other until `stop()` is called; returns the job ids (each request awaited, no sleep). */
function load() {
  let stopped = false;
  const ids: string[] = [];
  let i = 0;
  const done = (async () => {
    while (!stopped) {
      const q = questions[i++ % questions.length]!;
      const submit = () =>
        http('POST', '/v1/jobs', {
          prompt: `${q.question} (${run}-${i})`,
          idempotency_key: `${run}-${i}`,
          options: { max_tokens: 16, rag: true },
          budget: { latency_ms: 120_000 },
        });
      // A 503 says the job was not confirmed queued within the API's wait (a loaded machine); as a client is told to,
      // retry with the same idempotency key (at most 5 times: each 503 already waited 5 s on the server).
      let res = await submit();
      for (let attempt = 1; res.status === 503 && attempt < 5; attempt++) res = await submit();
      const body = await res.text();
      // 202: created; 200: a retry found the job its first attempt created.
      assert.ok(res.status === 202 || res.status === 200, `${res.status} ${body}`);
      ids.push((JSON.parse(body) as { id: string }).id);
      // Keep a bounded number of jobs open: wait for the oldest one to be final once 8 are in flight.
      if (ids.length > 8) await final(ids[ids.length - 9]!);
    }
  })();
  return {
    ids,
    stop: async () => {
      stopped = true;
      await done;
      return ids;
    },
  };
}

const final = (id: string) =>
  eventually(
    `job ${id} to be final`,
    async () => {
      const job = (await (await http('GET', `/v1/jobs/${id}`)).json()) as JobView;
      return ['completed', 'failed', 'expired', 'cancelled'].includes(job.status) ? job : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 100 },
  );

describe('llmgov reindex under live load, then rollback', { timeout: 600_000 }, () => {
  before(async () => {
    const live = loadPlatformConfig();
    const config: PlatformConfig = { ...live, KAFKA_TOPIC_PREFIX: prefix };
    await bootstrapPlatform(config);
    dir = mkdtempSync(path.join(tmpdir(), 'reindex-live-'));
    platform = await startPlatform({
      config,
      basePort: 18750,
      engine: 'sim',
      logDir: path.join(repoRoot(), '.local', 'logs', 'test'),
      env: {
        API_KEYS: `${TENANT}=${KEY}`,
        EMBEDDINGS: 'local',
        EMBEDDING_DIMENSIONS: String(DIMS),
        CHUNK_MAX_TOKENS: String(CHUNK),
        CHUNK_OVERLAP_TOKENS: '0',
        VECTOR_STORE_DIR: dir,
        INDEX_BATCH_WAIT_MS: '5',
        LOG_LEVEL: 'warn',
      },
    });
    api = platform.services.get('ingest-validator')!.url;
    kafka = createKafka(`it-rx-${run}`, live.KAFKA_BROKERS, createLogger('it', 'error'));
    pool = createPgPool(live.DATABASE_URL, { max: 3 });
    redis = createRedis(live.REDIS_URL);
    store = vectorStoreFromSettings({ VECTOR_STORE: 'lancedb', VECTOR_STORE_DIR: dir });
    const set = await pool.query<{ id: string }>(`INSERT INTO golden_sets (name, created_by) VALUES ($1, 'it') RETURNING id`, [GOLDEN]);
    for (const q of questions) {
      await pool.query(
        `INSERT INTO golden_items (golden_set_id, item_key, prompt, expected_answers, tenant_id, source, source_id, source_document_id, added_in_version)
         VALUES ($1, $2, $3, $4, $5, 'squad', $2, $6, 1)`,
        [set.rows[0]!.id, q.id, q.question, q.answers.map((a) => a.text), TENANT, q.documentId],
      );
    }
  });

  after(async () => {
    await Promise.allSettled(stopTraffic.map((stop) => stop()));
    await platform?.stop();
    if (kafka) await deleteNamespace(kafka, prefix).catch(() => undefined);
    await pool?.query('DELETE FROM golden_sets WHERE name = $1', [GOLDEN]).catch(() => undefined);
    await pool?.query('DELETE FROM documents WHERE tenant_id = $1', [TENANT]).catch(() => undefined);
    await pool?.query('DELETE FROM index_versions WHERE tenant_id = $1', [TENANT]).catch(() => undefined);
    const keys = (await redis?.keys(`semcache:{${TENANT}}:*`)) ?? [];
    if (keys.length > 0) await redis.del(...keys);
    redis?.disconnect();
    await pool?.end();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('jobs submitted throughout the re-index all complete with context; recall before/after; rollback', async () => {
    for (const p of paragraphs) {
      const res = await http('POST', '/v1/documents', { document_id: p.id, text: p.context, title: p.title });
      assert.equal(res.status, 202, await res.text());
    }
    const chunks = paragraphs.reduce((n, p) => n + chunkText(p.context, CHUNK, 0).length, 0);
    await eventually('the corpus to be indexed', async () => (await store.count(LIVE, TENANT).catch(() => 0)) === chunks, {
      timeoutMs: 120_000,
      intervalMs: 250,
    });

    const traffic = load();
    stopTraffic.push(traffic.stop);
    await eventually('some jobs to be submitted before the re-index', async () => traffic.ids.length >= 10, { timeoutMs: 60_000, intervalMs: 50 });
    const baseline = parseEmbeddingModel(`local:${DIMS}`, { dimensions: DIMS, chunkTokens: CHUNK, chunkOverlap: 0 });
    await registerBaseline(pool, store, TENANT, baseline, LIVE);
    const spec = parseEmbeddingModel('local:128', { dimensions: 384, chunkTokens: CHUNK, chunkOverlap: 0 });
    // A document arriving while the new version is built: the embedder writes it into the building version too.
    let lateSubmitted = false;
    const result = await runReindex(pool, store, new RedisSemanticCache(redis), {
      tenant: TENANT,
      version: 'v2',
      spec,
      usdPerMillionTokens: 0,
      ratePerSecond: 8,
      golden: GOLDEN,
      serving: { client: new HashingEmbedder({ dimensions: DIMS }), collection: LIVE },
      mode: 'sparse',
      progress: {
        start: () => undefined,
        tick: () => {
          if (lateSubmitted) return;
          lateSubmitted = true;
          void http('POST', '/v1/documents', { document_id: 'p-late', text: 'A late paragraph about the Rhine delta and its many dikes.', title: 'late' });
        },
        stop: () => undefined,
      },
    });
    console.log(
      `re-index: ${result.embeddedDocuments} documents embedded, chunks ${result.foundChunks}/${result.expectedChunks}, recall@5 before ${result.recallBefore} after ${result.recallAfter} (${result.goldenItems} items), swapped ${result.swapped}`,
    );
    assert.equal(result.reason, null);
    assert.equal(result.swapped, true);
    assert.ok(result.goldenItems > 0);
    assert.ok(result.recallAfter! >= result.recallBefore! - 0.005, 'no worse, within the default tolerance');
    assert.equal(await store.resolveAlias(tenantAlias(TENANT)), result.plan.collection);
    await eventually(
      'the late document in the new version',
      async () =>
        (await store.search(result.plan.collection, { tenantId: TENANT, dense: [], text: 'Rhine delta dikes', k: 3, mode: 'sparse' })).some(
          (h) => h.documentId === 'p-late',
        ),
      { timeoutMs: 60_000 },
    );

    // Traffic goes on until jobs submitted after the swap completed (the router re-reads the versions every second).
    const atSwap = traffic.ids.length;
    await eventually('jobs after the swap', async () => traffic.ids.length >= atSwap + 10, { timeoutMs: 120_000, intervalMs: 50 });
    const ids = await traffic.stop();
    const jobs = await Promise.all(ids.map((id) => final(id)));
    const notCompleted = jobs.filter((j) => j.status !== 'completed');
    assert.deepEqual(notCompleted, [], `${notCompleted.length} of ${jobs.length} jobs did not complete`);
    const empty = jobs.filter((j) => (j.result?.retrieved_document_ids ?? []).length === 0);
    assert.equal(empty.length, 0, `${empty.length} of ${jobs.length} jobs retrieved nothing`);
    console.log(`live load: ${jobs.length} jobs (${atSwap} submitted before the swap), all completed with context`);

    const back = await rollbackReindex(pool, store, new RedisSemanticCache(redis), TENANT);
    assert.equal(back.to, 'v1');
    assert.equal((await activeVersion(pool, TENANT))?.collection, LIVE);
    const after = load();
    stopTraffic.push(after.stop);
    await eventually('jobs after the rollback', async () => after.ids.length >= 10, { timeoutMs: 120_000, intervalMs: 50 });
    const afterJobs = await Promise.all((await after.stop()).map((id) => final(id)));
    assert.deepEqual(
      afterJobs.filter((j) => j.status !== 'completed' || (j.result?.retrieved_document_ids ?? []).length === 0),
      [],
    );
  });
});
