import type pg from 'pg';
import { classifyPgError } from './postgres.js';

/**
 * A tenant's index version as the services use it (table `index_versions`, migration 012; written by `llmgov reindex`):
 * the collection holding the tenant's chunks, and how they were embedded and chunked.
 */
export interface IndexVersionRecord {
  tenantId: string;
  /** `v2`, `v3`, ... (`v1` is the shared collection of the configured model). */
  version: string;
  collection: string;
  state: 'building' | 'active' | 'retired' | 'failed';
  /** Embeddings client kind: `local` (hashing embedder) or `openai` (an OpenAI-compatible endpoint at `embeddingsUrl`). */
  embeddings: 'local' | 'openai';
  embeddingsUrl: string | null;
  /** Model name and version as the endpoint reported them when the version was created. */
  model: string;
  modelVersion: string;
  dimensions: number;
  /** Chunk size and overlap, cl100k_base tokens. */
  chunkTokens: number;
  chunkOverlap: number;
}

interface Row {
  tenant_id: string;
  version: string;
  collection: string;
  state: IndexVersionRecord['state'];
  embeddings: string;
  embeddings_url: string | null;
  embedding_model: string;
  embedding_model_version: string;
  dimensions: number;
  chunk_tokens: number;
  chunk_overlap: number;
}

const COLUMNS =
  'tenant_id, version, collection, state, embeddings, embeddings_url, embedding_model, embedding_model_version, dimensions, chunk_tokens, chunk_overlap';

const toRecord = (r: Row): IndexVersionRecord => ({
  tenantId: r.tenant_id,
  version: r.version,
  collection: r.collection,
  state: r.state,
  embeddings: r.embeddings === 'openai' ? 'openai' : 'local',
  embeddingsUrl: r.embeddings_url,
  model: r.embedding_model,
  modelVersion: r.embedding_model_version,
  dimensions: r.dimensions,
  chunkTokens: r.chunk_tokens,
  chunkOverlap: r.chunk_overlap,
});

/** Reads the index-version registry. */
export class IndexVersionsRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** The active version of every tenant that has one, by tenant. @throws RetriableError when Postgres is unreachable. */
  async active(): Promise<Map<string, IndexVersionRecord>> {
    const rows = await this.query(`SELECT ${COLUMNS} FROM index_versions WHERE state = 'active'`, []);
    return new Map(rows.map((r) => [r.tenant_id, toRecord(r)]));
  }

  /**
   * The versions a new or changed document of the tenant must be written to besides the shared collection: the one
   * being built, the active one and the retired ones kept for rollback (not `failed`), oldest first.
   * @throws RetriableError when Postgres is unreachable.
   */
  async writeTargets(tenantId: string): Promise<IndexVersionRecord[]> {
    const rows = await this.query(`SELECT ${COLUMNS} FROM index_versions WHERE tenant_id = $1 AND state <> 'failed' ORDER BY created_at`, [tenantId]);
    return rows.map(toRecord);
  }

  private async query(sql: string, params: unknown[]): Promise<Row[]> {
    try {
      return (await this.pool.query<Row>(sql, params)).rows;
    } catch (err) {
      throw classifyPgError(err);
    }
  }
}
