import { QdrantClient } from '@qdrant/js-client-rest';
import { VectorStoreError } from './errors.js';
import { isUuid, pointId } from './point-id.js';
import type { ChunkPoint, EnsureCollectionOptions, SearchHit, SearchQuery, SparseVector, VectorStore } from './types.js';
import { assertName, dedupeById, hybridCandidates, validatePoint, validateQuery } from './validate.js';

export interface QdrantVectorStoreOptions {
  url: string;
  apiKey?: string;
  /** Per-request timeout. Default 30 000 ms. */
  timeoutMs?: number;
  /** Points per upsert request. Default 256. */
  upsertBatchSize?: number;
  /**
   * RRF constant for hybrid queries. Unset (default): `{fusion: "rrf"}` with the server's default
   * constant. Set (e.g. 61 — Qdrant ranks from 0, so 61 equals the paper's k = 60): the
   * parameterised `{rrf: {k}}` query, which needs a Qdrant server recent enough to support it.
   */
  rrfK?: number;
  /** Injectable client (tests); otherwise built from url/apiKey. */
  client?: QdrantClient;
}

const DENSE = 'dense';
const SPARSE = 'sparse';
const PAYLOAD_FIELDS = ['chunkId', 'documentId', 'text'];

type Filter = { must: { key: string; match: { value: string } }[] };

/**
 * `VectorStore` on Qdrant (production). One collection per index version, with a named dense
 * vector `dense` (cosine) and a named sparse vector `sparse` whose IDF is applied by Qdrant at query
 * time (`modifier: "idf"`), completing the BM25 weights the encoder puts in the vectors. Tenancy:
 * `tenantId` payload field with a keyword index marked `is_tenant` (Qdrant co-locates each tenant's
 * points) and a `must` filter on it in every query and every prefetch. Hybrid: Query API with a
 * dense and a sparse prefetch fused by RRF.
 */
export class QdrantVectorStore implements VectorStore {
  private readonly client: QdrantClient;
  private readonly upsertBatchSize: number;
  private readonly rrfK: number | undefined;

  constructor(options: QdrantVectorStoreOptions) {
    this.client =
      options.client ??
      new QdrantClient({
        url: options.url,
        ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
        timeout: options.timeoutMs ?? 30_000,
        checkCompatibility: false,
      });
    this.upsertBatchSize = options.upsertBatchSize ?? 256;
    this.rrfK = options.rrfK;
  }

  async ensureCollection(name: string, opts: EnsureCollectionOptions): Promise<void> {
    assertName('collection', name);
    const dimensions = opts.dimensions;
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 65536) {
      throw new VectorStoreError(`dimensions must be an integer in [1, 65536], got ${dimensions}`, 'invalid_argument');
    }
    await this.call('ensureCollection', async () => {
      const aliases = await this.client.getAliases();
      if (aliases.aliases.some((a) => a.alias_name === name)) {
        throw new VectorStoreError(`"${name}" is an alias; collections and aliases share one namespace`, 'conflict');
      }
      const { exists } = await this.client.collectionExists(name);
      if (!exists) {
        try {
          await this.client.createCollection(name, {
            vectors: { [DENSE]: { size: dimensions, distance: 'Cosine' } },
            sparse_vectors: { [SPARSE]: { modifier: 'idf' } },
          });
        } catch (err) {
          if (statusOf(err) !== 409) throw err; // 409: created concurrently by someone else
        }
      }
      const info = await this.client.getCollection(name);
      const vectors = info.config.params.vectors as Record<string, { size?: number }> | undefined;
      const existing = vectors?.[DENSE]?.size;
      if (existing !== dimensions) {
        throw new VectorStoreError(`collection ${name} has dense size ${String(existing)}, not ${dimensions}`, 'conflict');
      }
      const schema = (info.payload_schema ?? {}) as Record<string, unknown>;
      if (!schema['tenantId']) {
        await this.client.createPayloadIndex(name, {
          field_name: 'tenantId',
          field_schema: { type: 'keyword', is_tenant: true },
          wait: true,
        });
      }
      if (!schema['documentId']) {
        await this.client.createPayloadIndex(name, { field_name: 'documentId', field_schema: 'keyword', wait: true });
      }
    });
  }

  async upsert(collection: string, points: ChunkPoint[]): Promise<void> {
    assertName('collection', collection);
    for (const p of points) {
      validatePoint(p);
      if (!isUuid(p.id)) throw new VectorStoreError(`Qdrant point ids must be UUIDs, got ${p.id}`, 'invalid_argument');
    }
    const unique = dedupeById(points);
    for (let start = 0; start < unique.length; start += this.upsertBatchSize) {
      const batch = unique.slice(start, start + this.upsertBatchSize).map((p) => ({
        id: p.id,
        vector: {
          [DENSE]: Array.from(p.dense),
          ...(p.sparse && p.sparse.indices.length > 0 ? { [SPARSE]: { indices: p.sparse.indices, values: p.sparse.values } } : {}),
        },
        payload: {
          tenantId: p.tenantId,
          documentId: p.documentId,
          chunkId: p.chunkId,
          text: p.text,
          contentHash: p.contentHash,
          embeddingModel: p.embeddingModel,
          ...(p.metadata === undefined ? {} : { metadata: p.metadata }),
        },
      }));
      await this.call('upsert', () => this.client.upsert(collection, { wait: true, points: batch }));
    }
  }

  /**
   * Qdrant's delete does not report how many points it removed, so the count is taken first with
   * the same filter. Under concurrent writes to the same document the number can be off; the
   * delete itself is exact.
   */
  async deleteByDocument(collection: string, tenantId: string, documentId: string, keepChunkIds?: readonly string[]): Promise<number> {
    assertName('collection', collection);
    if (!tenantId || !documentId) throw new VectorStoreError('tenantId and documentId are required', 'invalid_argument');
    const filter: Filter = {
      must: [
        { key: 'tenantId', match: { value: tenantId } },
        { key: 'documentId', match: { value: documentId } },
      ],
      ...(keepChunkIds && keepChunkIds.length > 0 ? { must_not: [{ has_id: keepChunkIds.map((c) => pointId(tenantId, c)) }] } : {}),
    };
    return this.call('deleteByDocument', async () => {
      const { count } = await this.client.count(collection, { filter, exact: true });
      if (count > 0) await this.client.delete(collection, { wait: true, filter });
      return count;
    });
  }

  async search(collection: string, q: SearchQuery): Promise<SearchHit[]> {
    assertName('collection', collection);
    validateQuery(q);
    if (q.mode !== 'dense' && q.sparse === undefined) {
      throw new VectorStoreError(`Qdrant ${q.mode} search needs q.sparse (Bm25SparseEncoder.encodeQuery)`, 'invalid_argument');
    }
    const filter = tenantFilter(q.tenantId);
    const withPayload = { include: PAYLOAD_FIELDS };
    const sparse: SparseVector | undefined = q.sparse && q.sparse.indices.length > 0 ? q.sparse : undefined;
    const dense = Array.from(q.dense ?? []);

    const response = await this.call('search', () => {
      if (q.mode === 'sparse') {
        if (!sparse) return Promise.resolve({ points: [] });
        return this.client.query(collection, { query: sparse, using: SPARSE, filter, limit: q.k, with_payload: withPayload });
      }
      if (q.mode === 'dense' || !sparse) {
        return this.client.query(collection, { query: dense, using: DENSE, filter, limit: q.k, with_payload: withPayload });
      }
      const n = hybridCandidates(q.k);
      return this.client.query(collection, {
        prefetch: [
          { query: dense, using: DENSE, filter, limit: n },
          { query: sparse, using: SPARSE, filter, limit: n },
        ],
        query: this.rrfK === undefined ? { fusion: 'rrf' } : { rrf: { k: this.rrfK } },
        filter, // belt and braces: the fused result is filtered again
        limit: q.k,
        with_payload: withPayload,
      });
    });

    return response.points.map((point) => {
      const payload = (point.payload ?? {}) as Record<string, unknown>;
      return {
        id: String(point.id),
        chunkId: String(payload['chunkId'] ?? ''),
        documentId: String(payload['documentId'] ?? ''),
        text: String(payload['text'] ?? ''),
        score: point.score,
      };
    });
  }

  async count(collection: string, tenantId?: string): Promise<number> {
    assertName('collection', collection);
    if (tenantId !== undefined && !tenantId) throw new VectorStoreError('tenantId must be non-empty', 'invalid_argument');
    const result = await this.call('count', () =>
      this.client.count(collection, { exact: true, ...(tenantId === undefined ? {} : { filter: tenantFilter(tenantId) }) }),
    );
    return result.count;
  }

  async resolveAlias(alias: string): Promise<string | undefined> {
    assertName('alias', alias);
    const { aliases } = await this.call('resolveAlias', () => this.client.getAliases());
    return aliases.find((a) => a.alias_name === alias)?.collection_name;
  }

  async listCollections(): Promise<string[]> {
    const { collections } = await this.call('listCollections', () => this.client.getCollections());
    return collections.map((c) => c.name);
  }

  /** Creates or moves the alias in one atomic `update_aliases` request. */
  async setAlias(alias: string, collection: string): Promise<void> {
    assertName('alias', alias);
    assertName('collection', collection);
    await this.call('setAlias', async () => {
      const { exists } = await this.client.collectionExists(collection);
      if (!exists) throw new VectorStoreError(`collection ${collection} does not exist`, 'not_found');
      const current = (await this.client.getAliases()).aliases.find((a) => a.alias_name === alias);
      if (current?.collection_name === collection) return;
      await this.client.updateCollectionAliases({
        actions: [...(current ? [{ delete_alias: { alias_name: alias } }] : []), { create_alias: { collection_name: collection, alias_name: alias } }],
      });
    });
  }

  async close(): Promise<void> {
    // The REST client holds no resources that need releasing.
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toVectorStoreError(operation, err);
    }
  }
}

function tenantFilter(tenantId: string): Filter {
  return { must: [{ key: 'tenantId', match: { value: tenantId } }] };
}

/** HTTP status of a Qdrant client error, when it has one. */
function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number') return status;
  const match = /Unexpected Response: (\d{3})/.exec((err as { message?: unknown }).message as string);
  return match ? Number(match[1]) : undefined;
}

export function toVectorStoreError(operation: string, err: unknown): VectorStoreError {
  if (err instanceof VectorStoreError) return err;
  const status = statusOf(err);
  const name = err instanceof Error ? err.name : '';
  const data = (err as { data?: { status?: { error?: string } } } | null)?.data?.status?.error;
  const message = `qdrant ${operation} failed${status ? ` (HTTP ${status})` : ''}: ${data ?? (err instanceof Error ? err.message : String(err))}`;
  if (status === 404) return new VectorStoreError(message, 'not_found', { cause: err });
  if (status === 409) return new VectorStoreError(message, 'conflict', { cause: err });
  if (status === 400 || status === 422) return new VectorStoreError(message, 'invalid_argument', { cause: err });
  if (
    (status !== undefined && (status >= 500 || status === 429 || status === 408)) ||
    name === 'QdrantClientTimeoutError' ||
    name === 'QdrantClientResourceExhaustedError' ||
    (status === undefined && err instanceof TypeError) // fetch: connection refused, reset, DNS
  ) {
    return new VectorStoreError(message, 'unavailable', { cause: err });
  }
  return new VectorStoreError(message, 'backend', { cause: err });
}
