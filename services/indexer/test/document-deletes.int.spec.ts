/**
 * Deletes and tombstones (issue 12 §3) against the real local stack: ingest-validator, embedder and indexer as child
 * processes in their own topic namespace and vector-store folder, the hashing embedder (no model).
 * - `DELETE /v1/documents/{id}` removes the document's chunks from every index version (every `chunks_*` collection),
 *   its row from the source of record, and the semantic-cache entries built on it; other documents stay;
 * - unknown, malformed and other tenants' ids answer 404 and delete nothing;
 * - a tombstone (null value, key `<tenant>/<document>`) published by any producer does the same;
 * - a document re-submitted shorter keeps only its new chunks.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { Topics } from '@llmgov/contracts';
import { createKafka, deleteNamespace } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { HASHING_EMBEDDER_MODEL, HASHING_EMBEDDER_VERSION, chunkText } from '@llmgov/embeddings';
import { RedisSemanticCache, createPgPool, createRedis, type Pool, semanticScopeKey, type Redis, type SemanticScope } from '@llmgov/persistence';
import { indexVersion, pointId, vectorStoreFromSettings, type VectorStore } from '@llmgov/vector-store';
import { eventually } from '@llmgov/testing';
import { bootstrapPlatform, repoRoot, startPlatform, type RunningPlatform } from '@llmgov/platform';

const run = randomUUID().slice(0, 8);
const prefix = `it-del.${run}.`;
const TENANT_A = `del-a-${run}`;
const TENANT_B = `del-b-${run}`;
const KEY_A = `key-del-a-${run}-0001`;
const KEY_B = `key-del-b-${run}-0002`;
const DIMS = 64;
const CHUNK_TOKENS = 24;
/** The hashing embedder's collection at DIMS dimensions (revision v1): where the pipeline indexes. */
const LIVE = indexVersion({ model: HASHING_EMBEDDER_MODEL, modelVersion: HASHING_EMBEDDER_VERSION, dimensions: DIMS });
/** Another index version of the same tenants (as `llmgov reindex` builds one). */
const OTHER = `chunks_it-other_${DIMS}_v9`;

const sentences = (topic: string, n: number): string =>
  Array.from({ length: n }, (_, i) => `Sentence ${i + 1} about ${topic} says something different from the others, number ${i * 7 + 3}.`).join(' ');

let live: PlatformConfig;
let platform: RunningPlatform | undefined;
let api: string;
let kafka: Kafka;
let producer: Producer;
let store: VectorStore;
let redis: Redis;
let db: Pool;
let dir: string;

const http = (method: string, p: string, key: string, body?: unknown) =>
  fetch(`${api}${p}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** Chunk ids of a tenant's document in a collection (dense search over all of the tenant's points). */
async function chunkIds(collection: string, tenant: string, documentId: string): Promise<string[]> {
  const hits = await store.search(collection, { tenantId: tenant, dense: new Array<number>(DIMS).fill(0.1), k: 1000, mode: 'dense' });
  return hits
    .filter((h) => h.documentId === documentId)
    .map((h) => h.chunkId)
    .sort();
}

async function submit(key: string, documentId: string, text: string): Promise<void> {
  const res = await http('POST', '/v1/documents', key, { document_id: documentId, text, title: 'it' });
  assert.equal(res.status, 202, await res.text());
}

/** Waits until the document has exactly `n` chunks in the live collection. */
const indexed = (tenant: string, documentId: string, n: number) =>
  eventually(`${tenant}/${documentId} to have ${n} chunks`, async () => (await chunkIds(LIVE, tenant, documentId).catch(() => [])).length === n, {
    timeoutMs: 60_000,
    intervalMs: 200,
  });

describe('document deletes and tombstones', { timeout: 300_000 }, () => {
  before(async () => {
    live = loadPlatformConfig();
    const config: PlatformConfig = { ...live, KAFKA_TOPIC_PREFIX: prefix };
    await bootstrapPlatform(config);
    dir = mkdtempSync(path.join(tmpdir(), 'deletes-it-'));
    platform = await startPlatform({
      config,
      basePort: 18700,
      engines: false,
      services: ['ingest-validator', 'embedder', 'indexer'],
      logDir: path.join(repoRoot(), '.local', 'logs', 'test'),
      env: {
        API_KEYS: `${TENANT_A}=${KEY_A},${TENANT_B}=${KEY_B}`,
        EMBEDDINGS: 'local',
        EMBEDDING_DIMENSIONS: String(DIMS),
        CHUNK_MAX_TOKENS: String(CHUNK_TOKENS),
        CHUNK_OVERLAP_TOKENS: '0',
        VECTOR_STORE_DIR: dir,
        INDEX_BATCH_WAIT_MS: '5',
        LOG_LEVEL: 'warn',
      },
    });
    api = platform.services.get('ingest-validator')!.url;
    kafka = createKafka(`it-del-${run}`, live.KAFKA_BROKERS, createLogger('it', 'error'));
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    store = vectorStoreFromSettings({ ...live, VECTOR_STORE: 'lancedb', VECTOR_STORE_DIR: dir });
    redis = createRedis(live.REDIS_URL);
    db = createPgPool(live.DATABASE_URL, { max: 2 });
  });

  after(async () => {
    await platform?.stop();
    await producer?.disconnect();
    if (kafka) await deleteNamespace(kafka, prefix).catch(() => undefined);
    for (const t of [TENANT_A, TENANT_B]) {
      const keys = (await redis?.keys(`semcache:{${t}}:*`)) ?? [];
      if (keys.length > 0) await redis.del(...keys);
    }
    await db?.query('DELETE FROM documents WHERE tenant_id = ANY($1)', [[TENANT_A, TENANT_B]]);
    redis?.disconnect();
    await db?.end();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('DELETE removes the chunks from every index version, the source-of-record row and the answers built on them; hostile ids are 404', async () => {
    const long = sentences('the Normans', 8);
    const expected = chunkText(long, CHUNK_TOKENS, 0).length;
    assert.ok(expected >= 3, `the text makes several chunks (${expected})`);
    await submit(KEY_A, 'doc-1', long);
    await submit(KEY_A, 'doc-keep', sentences('Super Bowl 50', 3));
    await indexed(TENANT_A, 'doc-1', expected);
    await indexed(TENANT_A, 'doc-keep', chunkText(sentences('Super Bowl 50', 3), CHUNK_TOKENS, 0).length);
    const stored = await db.query<{ text: string }>('SELECT text FROM documents WHERE tenant_id = $1 AND document_id = $2', [TENANT_A, 'doc-1']);
    assert.equal(stored.rows[0]?.text, long, 'the source of record holds the validated text');

    // Another index version of the tenant holds doc-1 too.
    await store.ensureCollection(OTHER, { dimensions: DIMS });
    const dense = new Array<number>(DIMS).fill(0.1);
    await store.upsert(OTHER, [
      {
        id: pointId(TENANT_A, 'doc-1#0'),
        tenantId: TENANT_A,
        documentId: 'doc-1',
        chunkId: 'doc-1#0',
        text: 'x',
        dense,
        contentHash: 'h',
        embeddingModel: 'm',
      },
      {
        id: pointId(TENANT_A, 'doc-keep#0'),
        tenantId: TENANT_A,
        documentId: 'doc-keep',
        chunkId: 'doc-keep#0',
        text: 'y',
        dense,
        contentHash: 'h',
        embeddingModel: 'm',
      },
    ]);

    // Cached answers: one built on doc-1, one on doc-keep.
    const cache = new RedisSemanticCache(redis);
    const scope: SemanticScope = {
      tenantId: TENANT_A,
      route: 'r',
      key: semanticScopeKey({ route: 'r', systemPrompt: null, rag: true, tierTemplates: '-', indexVersion: LIVE, modelGeneration: 'it' }),
    };
    const axis = (i: number) => Array.from({ length: 8 }, (_, k) => (k === i ? 1 : 0.01));
    const entry = (id: string, doc: string) => ({
      id,
      route: 'r',
      text: `answer ${id}`,
      finish_reason: 'stop',
      model: 'm',
      tier: 'S' as const,
      context: [],
      quality: 0.9,
      source_prompt: id,
      chunk_ids: [`${doc}#0`],
      document_ids: [doc],
      intent: null,
      created_at: 0,
      expires_at: 0,
    });
    await cache.add(scope, entry('on-doc-1', 'doc-1'), axis(0), { ttlSeconds: 600, maxEntries: 10 });
    await cache.add(scope, entry('on-keep', 'doc-keep'), axis(1), { ttlSeconds: 600, maxEntries: 10 });
    const lookup = (i: number) => cache.lookup(scope, axis(i), { defaultThreshold: 0.9, embeddingSpace: 'it' });
    assert.equal((await lookup(0)).entry?.id, 'on-doc-1');

    // Hostile input: nothing is deleted, nothing is revealed.
    for (const [key, id] of [
      [KEY_B, 'doc-1'], // another tenant's document
      [KEY_A, 'doc-unknown'],
      [KEY_A, 'x'.repeat(300)],
      [KEY_A, encodeURIComponent('doc-1/../doc-keep')],
      [KEY_A, encodeURIComponent("doc-1' OR '1'='1")],
      [KEY_A, '%00'],
    ] as const) {
      const res = await http('DELETE', `/v1/documents/${id}`, key);
      assert.equal(res.status, 404, `${id.slice(0, 40)}: ${res.status}`);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(typeof body.error.code, 'string');
    }
    const noKey = await fetch(`${api}/v1/documents/doc-1`, { method: 'DELETE' });
    assert.equal(noKey.status, 401);

    const res = await http('DELETE', '/v1/documents/doc-1', KEY_A);
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { document_id: 'doc-1', status: 'deleting' });
    await indexed(TENANT_A, 'doc-1', 0);
    await eventually('doc-1 to leave the other index version', async () => (await chunkIds(OTHER, TENANT_A, 'doc-1')).length === 0, { timeoutMs: 30_000 });
    assert.equal((await lookup(0)).entry, undefined, 'the answer built on doc-1 is gone');
    assert.equal((await lookup(1)).entry?.id, 'on-keep', 'the answer built on doc-keep stays');
    assert.deepEqual(await chunkIds(OTHER, TENANT_A, 'doc-keep'), ['doc-keep#0']);
    assert.ok((await chunkIds(LIVE, TENANT_A, 'doc-keep')).length > 0, 'doc-keep stays indexed');
    const row = await db.query('SELECT 1 FROM documents WHERE tenant_id = $1 AND document_id = $2', [TENANT_A, 'doc-1']);
    assert.equal(row.rowCount, 0, 'the source of record no longer has it');
    assert.equal((await http('DELETE', '/v1/documents/doc-1', KEY_A)).status, 404, 'a second delete finds nothing');

    // The same text submitted again is a new document: indexed again (not deduplicated away).
    await submit(KEY_A, 'doc-1', long);
    await indexed(TENANT_A, 'doc-1', expected);
  });

  it('a tombstone published by a producer deletes the document', async () => {
    const text = sentences('Warsaw', 5);
    await submit(KEY_B, 'doc-t', text);
    await indexed(TENANT_B, 'doc-t', chunkText(text, CHUNK_TOKENS, 0).length);
    await producer.send({ topic: `${prefix}${Topics.documentSubmitted}`, acks: -1, messages: [{ key: `${TENANT_B}/doc-t`, value: null }] });
    await indexed(TENANT_B, 'doc-t', 0);
    const row = await db.query('SELECT 1 FROM documents WHERE tenant_id = $1 AND document_id = $2', [TENANT_B, 'doc-t']);
    assert.equal(row.rowCount, 0);
  });

  it('a document re-submitted shorter keeps only its new chunks', async () => {
    const long = sentences('the Amazon rainforest', 8);
    const n = chunkText(long, CHUNK_TOKENS, 0).length;
    await submit(KEY_B, 'doc-s', long);
    await indexed(TENANT_B, 'doc-s', n);
    const short = 'The Amazon rainforest covers most of the Amazon basin.';
    assert.equal(chunkText(short, CHUNK_TOKENS, 0).length, 1);
    await submit(KEY_B, 'doc-s', short);
    await indexed(TENANT_B, 'doc-s', 1);
    const hits = await store.search(LIVE, { tenantId: TENANT_B, dense: new Array<number>(DIMS).fill(0.1), k: 100, mode: 'dense' });
    assert.deepEqual(
      hits.filter((h) => h.documentId === 'doc-s').map((h) => [h.chunkId, h.text]),
      [['doc-s#0', short]],
    );
  });
});
