import Bottleneck from 'bottleneck';
import { createHash } from 'node:crypto';
import {
  Bm25SparseEncoder,
  chunkText,
  createEmbeddingsClient,
  HASHING_EMBEDDER_MODEL,
  HASHING_EMBEDDER_VERSION,
  type EmbeddingsClient,
} from '@llmgov/embeddings';
import { indexVersion, pointId, type ChunkPoint, type VectorStore } from '@llmgov/vector-store';
import type { Pool, SemanticCacheStore } from '@llmgov/persistence';

/**
 * Re-indexing a tenant's corpus into a new index version (issue 12 §2).
 *
 * **Source of record**: the `documents` table in Postgres (migration 012). ingest-validator stores there the validated,
 * PII-masked text of every document it forwards and removes the row on a delete, so a tenant's corpus can always be
 * rebuilt, whatever the documents topic still holds (7-day retention, cleanup.policy delete). Rows accepted before
 * migration 012 have no text and are reported as not rebuildable.
 *
 * **Index version**: one collection per tenant version, `indexVersion(space, 'chunks', version)` (e.g.
 * `chunks_local-hashing-ngram-v1-<hash>_256_v2`), registered in `index_versions`. The tenant's alias
 * (`tenantAlias(tenant)`) names the serving collection; it moves only after verification, in one atomic alias switch.
 */

/** How to embed: the hashing embedder (`local`, no model) or an OpenAI-compatible endpoint, and how to chunk. */
export interface IndexVersionSpec {
  embeddings: 'local' | 'openai';
  embeddingsUrl: string | null;
  /** Model name as requested (openai) or the hashing embedder's. */
  model: string;
  dimensions: number;
  chunkTokens: number;
  chunkOverlap: number;
}

/** One row of `index_versions`. */
export interface IndexVersionRow {
  tenant_id: string;
  version: string;
  collection: string;
  embeddings: string;
  embeddings_url: string | null;
  embedding_model: string;
  embedding_model_version: string;
  dimensions: number;
  chunk_tokens: number;
  chunk_overlap: number;
  state: 'building' | 'active' | 'retired' | 'failed';
  report: Record<string, unknown>;
  created_at: Date;
  activated_at: Date | null;
}

/** A version name: `v` and a number, so that it is a valid collection-name revision and never `v1` (the shared baseline). */
export const VERSION_RE = /^v([2-9]|[1-9][0-9]{1,5})$/;

/** The vector-store alias naming a tenant's serving collection (tenant ids are `[a-z0-9_-]`, at most 64 characters). */
export const tenantAlias = (tenantId: string): string => `tenant_${tenantId}`;

/**
 * Parses `--embedding-model`: `local` or `local:<dimensions>` (the hashing embedder), else an OpenAI-compatible model
 * name served at `embeddingsUrl`.
 * @throws Error for `local:` with a bad dimension, or an openai model without an URL.
 */
export function parseEmbeddingModel(
  model: string,
  opts: { dimensions: number; embeddingsUrl?: string; chunkTokens: number; chunkOverlap: number },
): IndexVersionSpec {
  const local = /^local(?::([1-9][0-9]{0,4}))?$/.exec(model);
  if (local) {
    return {
      embeddings: 'local',
      embeddingsUrl: null,
      model: HASHING_EMBEDDER_MODEL,
      dimensions: local[1] ? Number(local[1]) : opts.dimensions,
      chunkTokens: opts.chunkTokens,
      chunkOverlap: opts.chunkOverlap,
    };
  }
  if (!opts.embeddingsUrl) throw new Error(`embedding model ${model} needs --embeddings-url (or EMBEDDINGS_URL): an OpenAI-compatible endpoint`);
  return {
    embeddings: 'openai',
    embeddingsUrl: opts.embeddingsUrl,
    model,
    dimensions: opts.dimensions,
    chunkTokens: opts.chunkTokens,
    chunkOverlap: opts.chunkOverlap,
  };
}

/** The embeddings client of a spec. */
export const clientOf = (spec: IndexVersionSpec): EmbeddingsClient =>
  createEmbeddingsClient(
    spec.embeddings === 'local'
      ? { kind: 'local', dimensions: spec.dimensions }
      : { kind: 'openai', baseUrl: spec.embeddingsUrl!, model: spec.model, dimensions: spec.dimensions },
  );

/** The collection of a tenant's version: the spec's embedding space with the version as revision. */
export function collectionOf(spec: IndexVersionSpec, version: string): string {
  const modelVersion = spec.embeddings === 'local' ? HASHING_EMBEDDER_VERSION : spec.model;
  return indexVersion({ model: spec.model, modelVersion, dimensions: spec.dimensions }, 'chunks', version);
}

interface SourceDocument {
  document_id: string;
  content_hash: string;
  title: string | null;
  text: string | null;
}

/** The tenant's documents in the source of record, by id. */
async function sourceDocuments(pool: Pool, tenantId: string): Promise<SourceDocument[]> {
  const r = await pool.query<SourceDocument>('SELECT document_id, content_hash, title, text FROM documents WHERE tenant_id = $1 ORDER BY document_id', [
    tenantId,
  ]);
  return r.rows;
}

/** What a re-index would do: printed by --dry-run, and the plan of a real run. */
export interface ReindexPlan {
  tenant: string;
  version: string;
  collection: string;
  spec: IndexVersionSpec;
  documents: number;
  /** Rows without text (accepted before migration 012): not rebuildable until submitted again. */
  withoutText: string[];
  chunks: number;
  /** Tokens to embed (cl100k_base, as the chunker counts). */
  tokens: number;
  /** USD: tokens × `usdPerMillionTokens` / 1e6 (0 for the local hashing embedder). */
  costUsd: number;
  /** Seconds at the rate limit (documents / rate), null without one. */
  etaSeconds: number | null;
  current: IndexVersionRow | null;
}

/**
 * The embedding price of `model` in a price catalog file (services/cost-attributor's `price-catalog/v*.json`, which the
 * cost-attributor bills EMBEDDING usage by): an `api` entry's `input_per_1m_tokens`, else the catalog's default. A
 * self-hosted entry is priced by GPU time, which a dry run cannot know: null then.
 * @throws Error when the file cannot be read or is not a catalog.
 */
export function embeddingPrice(catalogJson: string, model: string): { usdPerMillionTokens: number | null; source: string } {
  const catalog = JSON.parse(catalogJson) as {
    version?: unknown;
    models?: Record<string, { kind?: string; input_per_1m_tokens?: unknown }>;
    default?: { kind?: string; input_per_1m_tokens?: unknown };
  };
  if (typeof catalog.version !== 'string' || typeof catalog.models !== 'object' || catalog.models === null || !catalog.default) {
    throw new Error('not a price catalog (version, models, default)');
  }
  const listed = Object.hasOwn(catalog.models, model) ? catalog.models[model] : undefined;
  const entry = listed ?? catalog.default;
  const source = `price catalog ${catalog.version}, ${listed ? model : 'default'}`;
  if (entry.kind === 'api' && typeof entry.input_per_1m_tokens === 'number') return { usdPerMillionTokens: entry.input_per_1m_tokens, source };
  return { usdPerMillionTokens: null, source: `${source} (self-hosted: priced by GPU time)` };
}

/** The tenant's active version, if any. */
export async function activeVersion(pool: Pool, tenantId: string): Promise<IndexVersionRow | null> {
  const r = await pool.query<IndexVersionRow>(`SELECT * FROM index_versions WHERE tenant_id = $1 AND state = 'active'`, [tenantId]);
  return r.rows[0] ?? null;
}

/** Counts what re-indexing the tenant into `version` under `spec` would embed and cost. */
export async function planReindex(
  pool: Pool,
  args: { tenant: string; version: string; spec: IndexVersionSpec; usdPerMillionTokens: number; ratePerSecond: number | null },
): Promise<ReindexPlan> {
  const docs = await sourceDocuments(pool, args.tenant);
  let chunks = 0;
  let tokens = 0;
  const withoutText: string[] = [];
  for (const d of docs) {
    if (d.text === null) {
      withoutText.push(d.document_id);
      continue;
    }
    const cs = chunkText(d.text, args.spec.chunkTokens, args.spec.chunkOverlap);
    chunks += cs.length;
    tokens += cs.reduce((n, c) => n + c.tokenCount, 0);
  }
  const rebuildable = docs.length - withoutText.length;
  return {
    tenant: args.tenant,
    version: args.version,
    collection: collectionOf(args.spec, args.version),
    spec: args.spec,
    documents: rebuildable,
    withoutText,
    chunks,
    tokens,
    costUsd: (tokens * args.usdPerMillionTokens) / 1e6,
    etaSeconds: args.ratePerSecond ? rebuildable / args.ratePerSecond : null,
    current: await activeVersion(pool, args.tenant),
  };
}

/** A golden item usable for retrieval recall: a prompt and the document that answers it. */
interface RecallItem {
  prompt: string;
  source_document_id: string;
}

/**
 * Retrieval recall@k of a collection on the tenant's items of a golden set: the share of items whose source document is
 * among the top-k hits (hybrid search, the router's default with a model; sparse only for the hashing embedder).
 * @returns null when the set has no item of this tenant with a source document.
 */
export async function goldenRecall(
  pool: Pool,
  store: VectorStore,
  args: { tenant: string; golden: string; collection: string; client: EmbeddingsClient; k?: number; mode: 'hybrid' | 'dense' | 'sparse' },
): Promise<{ recall: number; items: number } | null> {
  const r = await pool.query<RecallItem>(
    `SELECT gi.prompt, gi.source_document_id FROM golden_items gi JOIN golden_sets gs ON gs.id = gi.golden_set_id
     WHERE gs.name = $1 AND (gi.tenant_id = $2 OR gi.tenant_id IS NULL) AND gi.source_document_id IS NOT NULL ORDER BY gi.id`,
    [args.golden, args.tenant],
  );
  if (r.rows.length === 0) return null;
  let found = 0;
  const k = args.k ?? 5;
  for (const item of r.rows) {
    const { vectors } = await args.client.embed([item.prompt]);
    const hits = await store.search(args.collection, { tenantId: args.tenant, dense: vectors[0]!, text: item.prompt, k, mode: args.mode });
    if (hits.some((h) => h.documentId === item.source_document_id)) found++;
  }
  return { recall: found / r.rows.length, items: r.rows.length };
}

export interface ReindexProgress {
  start(total: number): void;
  tick(documentId: string): void;
  stop(): void;
}

export interface ReindexResult {
  plan: ReindexPlan;
  embeddedDocuments: number;
  expectedChunks: number;
  foundChunks: number;
  recallBefore: number | null;
  recallAfter: number | null;
  goldenItems: number;
  swapped: boolean;
  invalidatedEntries: number;
  reason: string | null;
}

const sparseEncoder = new Bm25SparseEncoder();

/** Embeds one document's chunks with the version's client and writes them into the collection. @returns chunk count. */
async function embedDocument(store: VectorStore, client: EmbeddingsClient, tenant: string, collection: string, spec: IndexVersionSpec, d: SourceDocument) {
  const chunks = chunkText(d.text!, spec.chunkTokens, spec.chunkOverlap);
  if (chunks.length === 0) return 0;
  const result = await client.embed(chunks.map((c) => c.text));
  const points: ChunkPoint[] = chunks.map((c, i) => ({
    id: pointId(tenant, `${d.document_id}#${c.index}`),
    tenantId: tenant,
    documentId: d.document_id,
    chunkId: `${d.document_id}#${c.index}`,
    text: c.text,
    dense: result.vectors[i]!,
    // As the embedder writes them: the BM25 sparse vector (Qdrant's lexical leg) and the chunk text's SHA-256.
    sparse: sparseEncoder.encode(c.text),
    contentHash: createHash('sha256').update(c.text).digest('hex'),
    embeddingModel: `${result.model}@${result.modelVersion}`,
    metadata: { title: d.title ?? '' },
  }));
  await store.upsert(collection, points);
  // Chunks of a longer earlier text of this document (embedded in an earlier pass of this run) go.
  await store.deleteByDocument(
    collection,
    tenant,
    d.document_id,
    points.map((p) => p.chunkId),
  );
  return chunks.length;
}

/**
 * Re-embeds the tenant's corpus into a new index version while the current one keeps serving, verifies it and swaps
 * the tenant's alias to it:
 * 1. registers the version as `building` and creates its collection;
 * 2. embeds every document of the source of record (rate-limited by Bottleneck: `ratePerSecond` documents/s);
 * 3. catches up: documents changed, added or deleted meanwhile (by content hash) are re-embedded or removed, until a
 *    pass finds nothing to do (at most 5 passes);
 * 4. verifies: the tenant's chunk count in the collection equals the chunker's count over the source of record, and,
 *    with a golden set, recall@5 on the new version is no worse than on the serving one;
 * 5. swaps: in one transaction the serving version becomes `retired` and the new one `active`, then the tenant's alias
 *    moves (one atomic alias switch), then the cached answers built on the tenant's documents are dropped.
 * A failed verification marks the version `failed` and swaps nothing.
 * @throws Error when the version exists already or names the serving collection.
 */
export async function runReindex(
  pool: Pool,
  store: VectorStore,
  cache: SemanticCacheStore | null,
  args: {
    tenant: string;
    version: string;
    spec: IndexVersionSpec;
    usdPerMillionTokens: number;
    ratePerSecond: number | null;
    golden: string | null;
    /**
     * Largest recall@5 drop on the golden set still counted as "no worse" (a fraction; default 0.005). Identical chunk
     * texts in two collections do not rank identically: ties in BM25 scores fall differently, and one item of 432 moved
     * (0.949 → 0.947) when only the dense model changed (tools/llmgov/test/reindex-live.int.spec.ts).
     */
    maxRecallDrop?: number;
    /** How the serving version is searched for the recall baseline: its client and collection. */
    serving: { client: EmbeddingsClient; collection: string };
    mode: 'hybrid' | 'dense' | 'sparse';
    progress?: ReindexProgress;
  },
): Promise<ReindexResult> {
  const plan = await planReindex(pool, args);
  const existing = await pool.query('SELECT state FROM index_versions WHERE tenant_id = $1 AND version = $2', [args.tenant, args.version]);
  if (existing.rowCount) throw new Error(`tenant ${args.tenant} already has index version ${args.version} (${existing.rows[0].state}); choose another`);
  if (plan.collection === args.serving.collection) throw new Error(`collection ${plan.collection} is the one serving now`);
  const client = clientOf(args.spec);
  const probe = await client.embed(['probe']);
  if (probe.dimensions !== args.spec.dimensions) throw new Error(`the embedding model answers ${probe.dimensions} dimensions, not ${args.spec.dimensions}`);
  await pool.query(
    `INSERT INTO index_versions (tenant_id, version, collection, embeddings, embeddings_url, embedding_model, embedding_model_version, dimensions,
       chunk_tokens, chunk_overlap, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'building')`,
    [
      args.tenant,
      args.version,
      plan.collection,
      args.spec.embeddings,
      args.spec.embeddingsUrl,
      probe.model,
      probe.modelVersion,
      args.spec.dimensions,
      args.spec.chunkTokens,
      args.spec.chunkOverlap,
    ],
  );
  await store.ensureCollection(plan.collection, { dimensions: args.spec.dimensions });

  // Bottleneck spaces the documents out at the rate (a library rather than our own token bucket: it also bounds
  // concurrency, and reservoir semantics are tested upstream).
  const limiter = new Bottleneck({ maxConcurrent: 1, minTime: args.ratePerSecond ? Math.ceil(1000 / args.ratePerSecond) : 0 });
  const embedded = new Map<string, string>(); // document id → content hash embedded
  let embeddedDocuments = 0;
  for (let pass = 0; pass < 5; pass++) {
    const docs = (await sourceDocuments(pool, args.tenant)).filter((d) => d.text !== null);
    const todo = docs.filter((d) => embedded.get(d.document_id) !== d.content_hash);
    const gone = [...embedded.keys()].filter((id) => !docs.some((d) => d.document_id === id));
    if (pass > 0 && todo.length === 0 && gone.length === 0) break;
    args.progress?.start(todo.length);
    await Promise.all(
      todo.map((d) =>
        limiter.schedule(async () => {
          await embedDocument(store, client, args.tenant, plan.collection, args.spec, d);
          embedded.set(d.document_id, d.content_hash);
          embeddedDocuments++;
          args.progress?.tick(d.document_id);
        }),
      ),
    );
    for (const id of gone) {
      await store.deleteByDocument(plan.collection, args.tenant, id);
      embedded.delete(id);
    }
    args.progress?.stop();
  }

  // The end of a backfill: LanceDB folds the new rows into the collection's indexes (its full-text index was built on
  // the empty table), as the serving collection's are by the indexer's background optimize, so that recall is compared
  // on equal terms. Qdrant indexes as it goes and has no such call.
  const optimizable = store as VectorStore & { optimize?: (collection: string) => Promise<void> };
  if (typeof optimizable.optimize === 'function') {
    await optimizable.optimize(plan.collection);
    await optimizable.optimize(args.serving.collection);
  }
  const docs = (await sourceDocuments(pool, args.tenant)).filter((d) => d.text !== null);
  const expectedChunks = docs.reduce((n, d) => n + chunkText(d.text!, args.spec.chunkTokens, args.spec.chunkOverlap).length, 0);
  const foundChunks = await store.count(plan.collection, args.tenant);
  let recallBefore: number | null = null;
  let recallAfter: number | null = null;
  let goldenItems = 0;
  if (args.golden) {
    const before = await goldenRecall(pool, store, {
      tenant: args.tenant,
      golden: args.golden,
      collection: args.serving.collection,
      client: args.serving.client,
      mode: args.mode,
    });
    const after = await goldenRecall(pool, store, { tenant: args.tenant, golden: args.golden, collection: plan.collection, client, mode: args.mode });
    recallBefore = before?.recall ?? null;
    recallAfter = after?.recall ?? null;
    goldenItems = after?.items ?? 0;
  }
  let reason: string | null = null;
  if (foundChunks !== expectedChunks)
    reason = `chunk counts differ: ${foundChunks} in ${plan.collection}, ${expectedChunks} expected from the source of record`;
  else if (recallBefore !== null && recallAfter !== null && recallAfter < recallBefore - (args.maxRecallDrop ?? 0.005)) {
    reason = `recall@5 on golden set ${args.golden} would drop from ${recallBefore.toFixed(3)} to ${recallAfter.toFixed(3)} (more than ${args.maxRecallDrop ?? 0.005})`;
  }
  const report = {
    documents: docs.length,
    expected_chunks: expectedChunks,
    found_chunks: foundChunks,
    recall_before: recallBefore,
    recall_after: recallAfter,
    golden: args.golden,
    golden_items: goldenItems,
    tokens: plan.tokens,
    cost_usd: plan.costUsd,
  };
  if (reason) {
    await pool.query(`UPDATE index_versions SET state = 'failed', report = $3 WHERE tenant_id = $1 AND version = $2`, [
      args.tenant,
      args.version,
      JSON.stringify({ ...report, reason }),
    ]);
    return { plan, embeddedDocuments, expectedChunks, foundChunks, recallBefore, recallAfter, goldenItems, swapped: false, invalidatedEntries: 0, reason };
  }
  const invalidatedEntries = await swapTo(pool, store, cache, args.tenant, args.version, plan.collection, report);
  return { plan, embeddedDocuments, expectedChunks, foundChunks, recallBefore, recallAfter, goldenItems, swapped: true, invalidatedEntries, reason: null };
}

/**
 * Makes `version` the tenant's active one: the registry in one transaction (the serving version `retired`, kept for
 * rollback), then the tenant's alias (one atomic switch), then drops the cached answers built on the tenant's documents
 * (their scope names the old collection, so they would not be served under the new one anyway; dropping them also
 * keeps a rollback from serving answers older than the swap). @returns entries dropped.
 */
async function swapTo(
  pool: Pool,
  store: VectorStore,
  cache: SemanticCacheStore | null,
  tenant: string,
  version: string,
  collection: string,
  report?: object,
): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`UPDATE index_versions SET state = 'retired', retired_at = now() WHERE tenant_id = $1 AND state = 'active'`, [tenant]);
    await client.query(
      `UPDATE index_versions SET state = 'active', activated_at = now(), retired_at = NULL, report = COALESCE($3::jsonb, report) WHERE tenant_id = $1 AND version = $2`,
      [tenant, version, report ? JSON.stringify(report) : null],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  await store.setAlias(tenantAlias(tenant), collection);
  if (!cache) return 0;
  const ids = (await pool.query<{ document_id: string }>('SELECT document_id FROM documents WHERE tenant_id = $1', [tenant])).rows.map((r) => r.document_id);
  let dropped = 0;
  for (let i = 0; i < ids.length; i += 500) dropped += await cache.invalidateDocuments(tenant, ids.slice(i, i + 500));
  return dropped;
}

/**
 * `llmgov reindex rollback`: the most recently retired version becomes active again (its collection was kept), the
 * active one is retired; the alias moves back and the cached answers on the tenant's documents are dropped.
 * @throws Error when the tenant has no retired version to go back to.
 */
export async function rollbackReindex(
  pool: Pool,
  store: VectorStore,
  cache: SemanticCacheStore | null,
  tenant: string,
): Promise<{ from: string | null; to: string; collection: string; invalidatedEntries: number }> {
  const current = await activeVersion(pool, tenant);
  const r = await pool.query<IndexVersionRow>(
    `SELECT * FROM index_versions WHERE tenant_id = $1 AND state = 'retired' ORDER BY retired_at DESC NULLS LAST, activated_at DESC NULLS LAST LIMIT 1`,
    [tenant],
  );
  const target = r.rows[0];
  if (!target) throw new Error(`tenant ${tenant} has no retired index version to roll back to`);
  const invalidatedEntries = await swapTo(pool, store, cache, tenant, target.version, target.collection);
  return { from: current?.version ?? null, to: target.version, collection: target.collection, invalidatedEntries };
}

/** Registers the collection serving the tenant today as an active version (`v1`), so that a first re-index can be rolled back to it. */
export async function registerBaseline(pool: Pool, store: VectorStore, tenant: string, spec: IndexVersionSpec, collection: string): Promise<void> {
  if (await activeVersion(pool, tenant)) return;
  const modelVersion = spec.embeddings === 'local' ? HASHING_EMBEDDER_VERSION : spec.model;
  await pool.query(
    `INSERT INTO index_versions (tenant_id, version, collection, embeddings, embeddings_url, embedding_model, embedding_model_version, dimensions,
       chunk_tokens, chunk_overlap, state, activated_at) VALUES ($1, 'v1', $2, $3, $4, $5, $6, $7, $8, $9, 'active', now()) ON CONFLICT DO NOTHING`,
    [tenant, collection, spec.embeddings, spec.embeddingsUrl, spec.model, modelVersion, spec.dimensions, spec.chunkTokens, spec.chunkOverlap],
  );
  // A platform that never indexed anything with its configured model has no shared collection yet: an empty one serves.
  await store.ensureCollection(collection, { dimensions: spec.dimensions });
  if ((await store.resolveAlias(tenantAlias(tenant))) === undefined) await store.setAlias(tenantAlias(tenant), collection);
}
