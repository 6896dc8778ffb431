import { mkdir } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { connect, Index, makeArrowTable, MatchQuery, type Connection, type Table } from '@lancedb/lancedb';
import { DataType, Field, FixedSizeList, Float32, Schema, Utf8 } from 'apache-arrow';
import { AliasFile } from './aliases.js';
import { pointId } from './point-id.js';
import { VectorStoreError } from './errors.js';
import { reciprocalRankFusion } from './rrf.js';
import { filterKey, sqlString } from './sql.js';
import type { ChunkPoint, EnsureCollectionOptions, SearchHit, SearchQuery, VectorStore } from './types.js';
import { assertDense, assertName, dedupeById, hybridCandidates, validatePoint, validateQuery } from './validate.js';

export interface LanceDbVectorStoreOptions {
  /** Data directory, e.g. `.local/vectors`. Created if missing. */
  dir: string;
  /**
   * Seconds between checks for writes made by other processes (LanceDB `readConsistencyInterval`).
   * Default 0: every read sees the latest committed version — the router must see what the indexer
   * just wrote. A positive value trades freshness for fewer metadata reads.
   */
  readConsistencyIntervalSeconds?: number;
  /**
   * Compact fragments and bring indexes up to date (`Table.optimize`) after this many writes to a
   * table by this instance. Default 20; 0 disables automatic optimisation.
   */
  optimizeEveryWrites?: number;
  /** …or after this many rows written since the last optimisation. Default 2000. */
  optimizeEveryRows?: number;
  /** Versions older than this are pruned by `optimize`. Default: LanceDB's 7 days. */
  pruneOlderThanMs?: number;
  /**
   * Weighted RRF for hybrid search: weight of the dense and of the lexical list. Default
   * {@link DEFAULT_HYBRID_WEIGHTS} (dense 0.8, lexical 1), measured with all-MiniLM-L6-v2 (see README).
   */
  hybridWeights?: { dense: number; lexical: number };
  /**
   * RRF constant k of hybrid search, Σ w / (k + rank) with ranks from 1. Default {@link DEFAULT_HYBRID_RRF_K} = 1;
   * the paper's 60 (`RRF_K`) fuses the top of each list more evenly with agreement further down.
   */
  rrfK?: number;
  /** Where failures of background optimisation are reported. Default `console.warn`. */
  onBackgroundError?: (err: unknown, table: string) => void;
}

/**
 * Hybrid search's fusion when the options do not set it: score = 0.8 / (1 + rank_dense) + 1 / (1 + rank_bm25).
 * Source: `npm run bench:retrieval` on the 4,961 questions of the SQuAD dev subset (bench/README.md, "Retrieval"), with
 * all-MiniLM-L6-v2 chunks of 256 tokens: recall@5 BM25 0.947, plain RRF (k 60, weights 1/1) 0.951, this setting 0.965,
 * with the best MRR@10 (0.868, BM25 0.861) of the settings within 0.002 of the best recall@5. A small k lets each list's
 * first ranks decide; the dense weight below 1 lets BM25, the better single list here, lead on ties at the top.
 */
export const DEFAULT_HYBRID_WEIGHTS: Readonly<{ dense: number; lexical: number }> = Object.freeze({ dense: 0.8, lexical: 1 });
/** RRF constant of hybrid search when the options do not set it (see {@link DEFAULT_HYBRID_WEIGHTS}). */
export const DEFAULT_HYBRID_RRF_K = 1;

const PRIMARY_KEY_METADATA = 'lance-schema:unenforced-primary-key:position';
const HIT_COLUMNS = ['id', 'chunkId', 'documentId', 'text'];

interface TableState {
  table: Table;
  dimensions: number;
  /** Tail of this instance's write chain for the table (writes and optimisations run one at a time). */
  chain: Promise<unknown>;
  writesSinceOptimize: number;
  rowsSinceOptimize: number;
}

interface Row {
  id: string;
  chunkId: string;
  documentId: string;
  text: string;
  _distance?: number;
  _score?: number;
}

/**
 * `VectorStore` on LanceDB, an embedded (in-process, on-disk) vector database: one table per
 * collection in `dir`, aliases in `dir/_aliases.json`.
 *
 * - Tenant isolation: every read filters on `tenantKey` (SHA-256 of the tenant id), so caller
 *   strings never reach the SQL parser; `tenantId` is stored as is for reading.
 * - Upsert: merge-insert on `id`, which is declared the table's (unenforced) primary key: with it
 *   LanceDB detects concurrent merge-inserts of the same ids (from any process) and retries, instead
 *   of inserting both (verified: without it two concurrent upserts of one id leave two rows).
 * - Dense: exact (flat) cosine search — no ANN index; fine to a few hundred thousand chunks.
 * - Sparse: LanceDB's BM25 full-text index on `text` (`q.text`; `q.sparse` is not used here).
 *   Rows written after the index was last updated are still searched (LanceDB scans unindexed
 *   fragments), so results are correct right after an upsert; `optimize` folds them into the index.
 * - Hybrid: the dense and the full-text top lists fused by weighted Reciprocal Rank Fusion
 *   ({@link DEFAULT_HYBRID_RRF_K}, {@link DEFAULT_HYBRID_WEIGHTS} unless the options say otherwise).
 * - Cross-process reads: with `readConsistencyIntervalSeconds: 0` (default) a reader sees another
 *   process's commits on its next call without reopening anything.
 */
export class LanceDbVectorStore implements VectorStore {
  private readonly dir: string;
  private readonly options: LanceDbVectorStoreOptions;
  private readonly aliases: AliasFile;
  private db: Promise<Connection> | undefined;
  private readonly tables = new Map<string, Promise<TableState>>();
  private closed = false;

  /** @throws VectorStoreError (invalid_argument) when `rrfK` or a hybrid weight is negative or not a number. */
  constructor(options: LanceDbVectorStoreOptions) {
    const { rrfK, hybridWeights: w } = options;
    if (rrfK !== undefined && !(rrfK >= 0 && Number.isFinite(rrfK)))
      throw new VectorStoreError(`rrfK must be a finite number >= 0, got ${rrfK}`, 'invalid_argument');
    if (w !== undefined && !([w.dense, w.lexical].every((x) => x >= 0 && Number.isFinite(x)) && w.dense + w.lexical > 0)) {
      throw new VectorStoreError(`hybridWeights must be finite, >= 0 and not both 0, got ${JSON.stringify(w)}`, 'invalid_argument');
    }
    this.options = options;
    this.dir = resolvePath(options.dir);
    this.aliases = new AliasFile(this.dir);
  }

  async ensureCollection(name: string, opts: EnsureCollectionOptions): Promise<void> {
    assertName('collection', name);
    const dimensions = opts.dimensions;
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 65536) {
      throw new VectorStoreError(`dimensions must be an integer in [1, 65536], got ${dimensions}`, 'invalid_argument');
    }
    if ((await this.aliases.read())[name] !== undefined) {
      throw new VectorStoreError(`"${name}" is an alias; collections and aliases share one namespace`, 'conflict');
    }
    const db = await this.connection();
    let table: Table;
    try {
      table = await db.openTable(name);
    } catch {
      try {
        table = await db.createEmptyTable(name, chunkSchema(dimensions), { mode: 'create', existOk: true });
      } catch (err) {
        // another process may have created it between our open and create
        table = await db.openTable(name).catch(() => {
          throw backendError(`cannot create collection ${name}`, err);
        });
      }
    }
    const existing = await tableDimensions(table);
    if (existing !== dimensions) {
      table.close();
      throw new VectorStoreError(`collection ${name} has ${existing} dimensions, not ${dimensions}`, 'conflict');
    }
    await prepareTable(table);
    table.close();
  }

  async upsert(collection: string, points: ChunkPoint[]): Promise<void> {
    if (points.length === 0) return;
    const state = await this.state(collection);
    for (const p of points) validatePoint(p, state.dimensions);
    const rows = dedupeById(points).map(toRow);
    await this.enqueue(state, async () => {
      try {
        await state.table
          .mergeInsert('id')
          .whenMatchedUpdateAll()
          .whenNotMatchedInsertAll()
          .execute(makeArrowTable(rows, { schema: chunkSchema(state.dimensions) }));
      } catch (err) {
        throw backendError(`upsert into ${state.table.name} failed`, err);
      }
      state.writesSinceOptimize += 1;
      state.rowsSinceOptimize += rows.length;
    });
    this.maybeOptimize(state);
  }

  async deleteByDocument(collection: string, tenantId: string, documentId: string, keepChunkIds?: readonly string[]): Promise<number> {
    if (!tenantId || !documentId) throw new VectorStoreError('tenantId and documentId are required', 'invalid_argument');
    const state = await this.state(collection);
    let predicate = `documentKey = ${sqlString(filterKey(tenantId, documentId))} AND tenantKey = ${sqlString(filterKey(tenantId))}`;
    // The kept chunks by point id (UUIDs derived from tenant and chunk id): no caller string reaches the SQL parser.
    if (keepChunkIds && keepChunkIds.length > 0) predicate += ` AND id NOT IN (${keepChunkIds.map((c) => sqlString(pointId(tenantId, c))).join(', ')})`;
    const deleted = await this.enqueue(state, async () => {
      try {
        // A delete that matches nothing still commits a table version; most calls with kept chunks match nothing.
        if (keepChunkIds && (await state.table.countRows(predicate)) === 0) return 0;
        const result = await state.table.delete(predicate);
        state.writesSinceOptimize += 1;
        return result.numDeletedRows;
      } catch (err) {
        throw backendError(`delete from ${state.table.name} failed`, err);
      }
    });
    this.maybeOptimize(state);
    return deleted;
  }

  async search(collection: string, q: SearchQuery): Promise<SearchHit[]> {
    validateQuery(q);
    const state = await this.state(collection);
    if (q.mode !== 'sparse') assertDense('query dense', q.dense, state.dimensions);
    if (q.mode !== 'dense' && typeof q.text !== 'string') {
      throw new VectorStoreError(`LanceDB ${q.mode} search needs q.text (its lexical leg is a BM25 full-text index)`, 'invalid_argument');
    }
    const where = `tenantKey = ${sqlString(filterKey(q.tenantId))}`;
    try {
      switch (q.mode) {
        case 'dense':
          return (await this.denseSearch(state.table, q.dense, where, q.k)).map((r) => hit(r, 1 - (r._distance ?? 1)));
        case 'sparse':
          return (await this.textSearch(state.table, q.text ?? '', where, q.k)).map((r) => hit(r, r._score ?? 0));
        case 'hybrid': {
          const n = hybridCandidates(q.k);
          const [dense, lexical] = await Promise.all([this.denseSearch(state.table, q.dense, where, n), this.textSearch(state.table, q.text ?? '', where, n)]);
          const w = this.options.hybridWeights ?? DEFAULT_HYBRID_WEIGHTS;
          return reciprocalRankFusion<Row>([dense, lexical], (r) => r.id, this.options.rrfK ?? DEFAULT_HYBRID_RRF_K, [w.dense, w.lexical])
            .slice(0, q.k)
            .map(({ item, score }) => hit(item, score));
        }
        default: {
          const mode: never = q.mode;
          throw new VectorStoreError(`unknown mode ${String(mode)}`, 'invalid_argument');
        }
      }
    } catch (err) {
      if (err instanceof VectorStoreError) throw err;
      throw backendError(`search in ${state.table.name} failed`, err);
    }
  }

  async count(collection: string, tenantId?: string): Promise<number> {
    const state = await this.state(collection);
    if (tenantId === undefined) return state.table.countRows();
    if (!tenantId) throw new VectorStoreError('tenantId must be non-empty', 'invalid_argument');
    return state.table.countRows(`tenantKey = ${sqlString(filterKey(tenantId))}`);
  }

  async setAlias(alias: string, collection: string): Promise<void> {
    assertName('alias', alias);
    assertName('collection', collection);
    const db = await this.connection();
    const names = await listTableNames(db);
    if (names.includes(alias)) throw new VectorStoreError(`"${alias}" is a collection; it cannot also be an alias`, 'conflict');
    if (!names.includes(collection)) throw new VectorStoreError(`collection ${collection} does not exist`, 'not_found');
    await this.aliases.set(alias, collection);
  }

  async resolveAlias(alias: string): Promise<string | undefined> {
    return (await this.aliases.read())[alias];
  }

  async listCollections(): Promise<string[]> {
    return listTableNames(await this.connection());
  }

  /**
   * Compacts the collection's fragments, folds unindexed rows into its indexes and prunes old
   * versions. Runs automatically (see the options); exposed for the indexer to call when a
   * backfill ends.
   */
  async optimize(collection: string): Promise<void> {
    const state = await this.state(collection);
    await this.enqueue(state, () => this.runOptimize(state));
  }

  /** Resolves a name through the alias file (identity for non-aliases). */
  async resolve(nameOrAlias: string): Promise<string> {
    return this.aliases.resolve(nameOrAlias);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const states = await Promise.allSettled(this.tables.values());
    for (const s of states) {
      if (s.status !== 'fulfilled') continue;
      await s.value.chain.catch(() => undefined);
      s.value.table.close();
    }
    this.tables.clear();
    if (this.db) (await this.db).close();
  }

  private connection(): Promise<Connection> {
    if (this.closed) return Promise.reject(new VectorStoreError('store is closed', 'invalid_argument'));
    this.db ??= (async () => {
      await mkdir(this.dir, { recursive: true });
      return connect(this.dir, { readConsistencyInterval: this.options.readConsistencyIntervalSeconds ?? 0 });
    })();
    return this.db;
  }

  private async state(nameOrAlias: string): Promise<TableState> {
    assertName('collection', nameOrAlias);
    const name = await this.aliases.resolve(nameOrAlias);
    let state = this.tables.get(name);
    if (!state) {
      state = (async () => {
        const db = await this.connection();
        let table: Table;
        try {
          table = await db.openTable(name);
        } catch (err) {
          throw new VectorStoreError(`collection ${name} does not exist (call ensureCollection first)`, 'not_found', { cause: err });
        }
        return { table, dimensions: await tableDimensions(table), chain: Promise.resolve(), writesSinceOptimize: 0, rowsSinceOptimize: 0 };
      })();
      this.tables.set(name, state);
      state.catch(() => this.tables.delete(name));
    }
    return state;
  }

  /** Runs `fn` after every write already queued for the table by this instance. */
  private enqueue<T>(state: TableState, fn: () => Promise<T>): Promise<T> {
    const run = state.chain.then(fn, fn);
    state.chain = run.catch(() => undefined);
    return run;
  }

  private maybeOptimize(state: TableState): void {
    const everyWrites = this.options.optimizeEveryWrites ?? 20;
    const everyRows = this.options.optimizeEveryRows ?? 2000;
    if (everyWrites === 0 && everyRows === 0) return;
    const due = (everyWrites > 0 && state.writesSinceOptimize >= everyWrites) || (everyRows > 0 && state.rowsSinceOptimize >= everyRows);
    if (!due) return;
    state.writesSinceOptimize = 0;
    state.rowsSinceOptimize = 0;
    // In the background, but on the write chain: the next write waits for it, searches do not.
    void this.enqueue(state, () => this.runOptimize(state)).catch((err: unknown) => {
      (this.options.onBackgroundError ?? defaultBackgroundError)(err, state.table.name);
    });
  }

  private async runOptimize(state: TableState): Promise<void> {
    state.writesSinceOptimize = 0;
    state.rowsSinceOptimize = 0;
    const prune = this.options.pruneOlderThanMs;
    await state.table.optimize(prune === undefined ? undefined : { cleanupOlderThan: new Date(Date.now() - prune) });
  }

  private async denseSearch(table: Table, dense: number[] | Float32Array, where: string, limit: number): Promise<Row[]> {
    return (await table
      .vectorSearch(Float32Array.from(dense))
      .column('dense')
      .distanceType('cosine')
      .where(where)
      .select([...HIT_COLUMNS, '_distance'])
      .limit(limit)
      .toArray()) as Row[];
  }

  private async textSearch(table: Table, text: string, where: string, limit: number): Promise<Row[]> {
    if (text.trim() === '') return [];
    return (await table
      .query()
      .fullTextSearch(new MatchQuery(text, 'text'))
      .where(where)
      .select([...HIT_COLUMNS, '_score'])
      .limit(limit)
      .toArray()) as Row[];
  }
}

function chunkSchema(dimensions: number): Schema {
  return new Schema([
    new Field('id', new Utf8(), false),
    new Field('tenantId', new Utf8(), false),
    new Field('tenantKey', new Utf8(), false),
    new Field('documentId', new Utf8(), false),
    new Field('documentKey', new Utf8(), false),
    new Field('chunkId', new Utf8(), false),
    new Field('text', new Utf8(), false),
    new Field('dense', new FixedSizeList(dimensions, new Field('item', new Float32(), true)), false),
    new Field('contentHash', new Utf8(), false),
    new Field('embeddingModel', new Utf8(), false),
    new Field('metadata', new Utf8(), true), // JSON object of strings
  ]);
}

function toRow(p: ChunkPoint): Record<string, unknown> {
  return {
    id: p.id,
    tenantId: p.tenantId,
    tenantKey: filterKey(p.tenantId),
    documentId: p.documentId,
    documentKey: filterKey(p.tenantId, p.documentId),
    chunkId: p.chunkId,
    text: p.text,
    dense: p.dense instanceof Float32Array ? p.dense : Float32Array.from(p.dense),
    contentHash: p.contentHash,
    embeddingModel: p.embeddingModel,
    metadata: p.metadata === undefined ? null : JSON.stringify(p.metadata),
  };
}

async function tableDimensions(table: Table): Promise<number> {
  const field = (await table.schema()).fields.find((f) => f.name === 'dense');
  // Checked by type id, not instanceof: LanceDB loads apache-arrow as CommonJS, this module as ESM,
  // so their classes are different objects.
  if (!field || !DataType.isFixedSizeList(field.type)) {
    throw new VectorStoreError(`table ${table.name} has no fixed-size dense column`, 'conflict');
  }
  return (field.type as FixedSizeList).listSize;
}

/** Primary key and indexes; idempotent and safe to race with another process doing the same. */
async function prepareTable(table: Table): Promise<void> {
  const idField = (await table.schema()).fields.find((f) => f.name === 'id');
  if (!idField?.metadata.has(PRIMARY_KEY_METADATA)) {
    await table.setUnenforcedPrimaryKey('id').catch(async (err: unknown) => {
      const again = (await table.schema()).fields.find((f) => f.name === 'id');
      if (!again?.metadata.has(PRIMARY_KEY_METADATA)) throw backendError(`cannot set primary key of ${table.name}`, err);
    });
  }
  const wanted: [string, Index][] = [
    ['text', Index.fts()], // BM25 inverted index: English stemming, stop words, ASCII folding
    ['tenantKey', Index.bitmap()],
    ['documentKey', Index.btree()],
    ['id', Index.btree()],
  ];
  for (const [column, config] of wanted) {
    const has = async (): Promise<boolean> => (await table.listIndices()).some((i) => i.columns.length === 1 && i.columns[0] === column);
    if (await has()) continue;
    await table.createIndex(column, { config, replace: false }).catch(async (err: unknown) => {
      if (!(await has())) throw backendError(`cannot index ${table.name}.${column}`, err);
    });
  }
}

async function listTableNames(db: Connection): Promise<string[]> {
  const names: string[] = [];
  let pageToken: string | undefined;
  do {
    const page = await db.listTables(pageToken === undefined ? {} : { pageToken });
    names.push(...page.tables);
    pageToken = page.pageToken ?? undefined;
  } while (pageToken);
  return names;
}

function hit(row: Row, score: number): SearchHit {
  return { id: row.id, chunkId: row.chunkId, documentId: row.documentId, text: row.text, score };
}

function backendError(message: string, err: unknown): VectorStoreError {
  if (err instanceof VectorStoreError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new VectorStoreError(`${message}: ${detail}`, 'backend', { cause: err });
}

function defaultBackgroundError(err: unknown, table: string): void {
  console.warn(`[vector-store] background optimize of ${table} failed:`, err);
}
