import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { chunkText, OpenAIEmbeddingsClient } from '@llmgov/embeddings';
import { loadEmbeddingModel, startEmbeddingsServer, type EmbeddingsServerHandle } from '@llmgov/embeddings-server';
import {
  DEFAULT_HYBRID_RRF_K,
  DEFAULT_HYBRID_WEIGHTS,
  indexVersion,
  LanceDbVectorStore,
  pointId,
  type ChunkPoint,
  type SearchMode,
} from '@llmgov/vector-store';
import { loadSquad } from '@llmgov/demo';
import { percentile, ScoreAccumulator, type RetrievalScores } from './metrics.js';
import { lexicalQuery, variantLabel, type HybridVariant, type LexicalQueryForm } from './settings.js';

/** The bench's one tenant: every chunk and every search belongs to it. */
const TENANT = 'bench';
/** Chunks retrieved per question and mode: recall@10 and MRR@10 read the top 10. */
const K = 10;

export interface BenchOptions {
  /** SQuAD v1.1-format file. */
  input: string;
  /** Ask only the first N questions of the interleaved order (one per article in turn, as the demo asks them). */
  questions?: number;
  /** Chunk size and overlap, cl100k_base tokens (the embedder's CHUNK_MAX_TOKENS / CHUNK_OVERLAP_TOKENS). */
  chunkMaxTokens: number;
  chunkOverlapTokens: number;
  /** all-MiniLM-L6-v2 files (tools/embeddings-server layout). */
  modelDir: string;
  /** ONNX Runtime intra-op threads of the in-process embeddings server; default: all cores. */
  threads?: number;
  /** Texts per /v1/embeddings request while indexing. */
  batch: number;
  /** Lexical query form of the default rows (bm25, hybrid). */
  query: LexicalQueryForm;
  /** Extra hybrid settings, each measured on the same index and query vectors. */
  variants: HybridVariant[];
}

/** The figures of one row of the table: a mode with its settings. */
export interface RowResult extends RetrievalScores {
  /** `bm25`, `dense`, `hybrid` (the store's defaults), or `hybrid <variant>` / `bm25 q=<form>`. */
  name: string;
  mode: SearchMode;
  /** The settings that produced the row; for hybrid rows every field is filled in (defaults made explicit). */
  settings: { query?: LexicalQueryForm; rrfK?: number; dense?: number; lexical?: number };
  /** Vector-store search time per question, ms (the query embedding is not included: see `queryEmbeddingMs`). */
  searchMs: { p50: number; p95: number };
  /** recall@5 of this row ÷ recall@5 of the bm25 row with the same lexical query form (hybrid rows only). */
  recallAt5OverBm25?: number;
}

export interface BenchSummary {
  input: string;
  startedAt: string;
  wallSeconds: number;
  paragraphs: number;
  questions: number;
  chunking: { maxTokens: number; overlapTokens: number; chunks: number; meanTokens: number; paragraphsSplit: number };
  /** `collection`: the index version the platform's indexer would give these chunks (libs/vector-store `indexVersion`). */
  model: { name: string; dimensions: number; maxTokens: number; modelDir: string; server: string; collection: string };
  indexing: { embedSeconds: number; chunksPerSecond: number; modelTokens: number; upsertSeconds: number };
  /** One /v1/embeddings request per question through OpenAIEmbeddingsClient, ms. */
  queryEmbeddingMs: { p50: number; p95: number };
  rows: RowResult[];
  /** recall@5 of the default hybrid row ÷ that of the default bm25 row. */
  hybridOverBm25RecallAt5: number;
  machine: { cores: number; loadAverageStart: [number, number]; loadAverageEnd: [number, number]; peakRssMb: number };
}

/** What the CLI shows while the bench runs. */
export interface BenchProgress {
  phase(name: string, total: number): void;
  tick(n?: number): void;
  done(): void;
  log(message: string): void;
}

interface Row {
  name: string;
  mode: SearchMode;
  query: LexicalQueryForm;
  store: LanceDbVectorStore;
  settings: RowResult['settings'];
  scores: ScoreAccumulator;
  searchMs: number[];
}

/**
 * Chunks every SQuAD paragraph with the embedder's chunker (`chunkText`, same size and overlap settings), embeds the
 * chunks with all-MiniLM-L6-v2 served by tools/embeddings-server (started in this process on a free loopback port,
 * reached over HTTP through `OpenAIEmbeddingsClient`, the client the embedder and router use), indexes them into a
 * fresh LanceDB store in a temporary directory, then asks the questions: per question one embedding request, then
 * one search per row (bm25, dense, hybrid and the variants) on the same index. Deletes the directory and stops the
 * server at the end, also on failure.
 * @throws Error when the input is not SQuAD, the model files are missing (ModelFilesMissingError names the fix), or
 *   `signal` aborts.
 */
export async function runRetrievalBench(o: BenchOptions, progress: BenchProgress, signal?: AbortSignal): Promise<BenchSummary> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const loadStart = os.loadavg();
  const aborted = (): void => {
    if (signal?.aborted) throw new Error('interrupted');
  };

  const squad = await loadSquad(o.input, [TENANT]);
  const questions = o.questions === undefined ? squad.questions : squad.questions.slice(0, o.questions);
  if (questions.length === 0) throw new Error(`${o.input} has no questions`);

  const points: Omit<ChunkPoint, 'dense'>[] = [];
  let tokens = 0;
  let split = 0;
  for (const doc of squad.documents) {
    const chunks = chunkText(doc.text, o.chunkMaxTokens, o.chunkOverlapTokens);
    if (chunks.length > 1) split += 1;
    for (const c of chunks) {
      tokens += c.tokenCount;
      const chunkId = `${doc.documentId}#${c.index}`;
      points.push({
        id: pointId(TENANT, chunkId),
        tenantId: TENANT,
        documentId: doc.documentId,
        chunkId,
        text: c.text,
        contentHash: chunkId,
        embeddingModel: '',
      });
    }
  }
  progress.log(
    `${squad.documents.length} paragraphs → ${points.length} chunks (${o.chunkMaxTokens} tokens, overlap ${o.chunkOverlapTokens}; ${split} paragraphs split); ${questions.length} questions`,
  );

  progress.log(`loading all-MiniLM-L6-v2 from ${o.modelDir}`);
  const model = await loadEmbeddingModel({ modelDir: o.modelDir, ...(o.threads === undefined ? {} : { threads: o.threads }) });
  let server: EmbeddingsServerHandle | undefined;
  let dir: string | undefined;
  const stores: LanceDbVectorStore[] = [];
  try {
    server = await startEmbeddingsServer(model, { host: '127.0.0.1', port: 0, maxBatchSize: 8 });
    const client = new OpenAIEmbeddingsClient({ baseUrl: server.url, model: model.name, maxBatchSize: o.batch, timeoutMs: 600_000 });
    progress.log(`embeddings server ${server.url} (${model.name}, ${model.dimensions} dimensions)`);

    // --- index ---------------------------------------------------------------------------------------------------
    progress.phase('embedding chunks', points.length);
    const dense: (number[] | Float32Array)[] = [];
    let modelTokens = 0;
    let space = { model: model.name, modelVersion: model.name, dimensions: model.dimensions };
    const tEmbed = performance.now();
    for (let i = 0; i < points.length; i += o.batch) {
      aborted();
      const batch = points.slice(i, i + o.batch);
      const r = await client.embed(
        batch.map((p) => p.text),
        signal ? { signal } : {},
      );
      dense.push(...r.vectors);
      modelTokens += r.usage.prompt_tokens;
      space = { model: r.model, modelVersion: r.modelVersion, dimensions: r.dimensions };
      progress.tick(batch.length);
    }
    const embedSeconds = (performance.now() - tEmbed) / 1000;
    progress.done();

    dir = await mkdtemp(join(os.tmpdir(), 'bench-retrieval-'));
    // Named as the indexer names the platform's collection for this model (in the bench's own temporary directory).
    const collection = indexVersion(space);
    const modelTag = `${space.model}@${space.modelVersion}`;
    const base = new LanceDbVectorStore({ dir, optimizeEveryWrites: 0, optimizeEveryRows: 0 });
    stores.push(base);
    const tUpsert = performance.now();
    await base.ensureCollection(collection, { dimensions: model.dimensions });
    for (let i = 0; i < points.length; i += 500) {
      await base.upsert(
        collection,
        points.slice(i, i + 500).map((p, j) => ({ ...p, dense: dense[i + j]!, embeddingModel: modelTag })),
      );
    }
    await base.optimize(collection); // FTS and fragments up to date, as a backfilled platform index would be
    const upsertSeconds = (performance.now() - tUpsert) / 1000;

    // --- rows ----------------------------------------------------------------------------------------------------
    const rows: Row[] = [];
    const row = (name: string, mode: SearchMode, query: LexicalQueryForm, store: LanceDbVectorStore, settings: RowResult['settings']): void => {
      rows.push({ name, mode, query, store, settings, scores: new ScoreAccumulator(), searchMs: [] });
    };
    row('bm25', 'sparse', o.query, base, { query: o.query });
    row('dense', 'dense', o.query, base, {});
    row('hybrid', 'hybrid', o.query, base, { query: o.query, rrfK: DEFAULT_HYBRID_RRF_K, ...DEFAULT_HYBRID_WEIGHTS });
    for (const v of o.variants) {
      const query = v.query ?? o.query;
      const weights = { dense: v.dense ?? DEFAULT_HYBRID_WEIGHTS.dense, lexical: v.lexical ?? DEFAULT_HYBRID_WEIGHTS.lexical };
      const rrfK = v.rrfK ?? DEFAULT_HYBRID_RRF_K;
      // A store instance per setting on the same directory: the same table, searched with other fusion options.
      const store = new LanceDbVectorStore({ dir, rrfK, hybridWeights: weights, optimizeEveryWrites: 0, optimizeEveryRows: 0 });
      stores.push(store);
      if (!rows.some((r) => r.mode === 'sparse' && r.query === query)) row(`bm25 q=${query}`, 'sparse', query, base, { query });
      row(`hybrid ${variantLabel(v)}`, 'hybrid', query, store, { query, rrfK, ...weights });
    }

    // --- questions -----------------------------------------------------------------------------------------------
    progress.phase('questions', questions.length);
    const embedMs: number[] = [];
    for (const q of questions) {
      aborted();
      const tq = performance.now();
      const { vectors } = await client.embed([q.question], signal ? { signal } : {});
      embedMs.push(performance.now() - tq);
      const texts = new Map<LexicalQueryForm, string>();
      for (const r of rows) {
        let text = texts.get(r.query);
        if (text === undefined) texts.set(r.query, (text = lexicalQuery(q.question, r.query)));
        const ts = performance.now();
        const hits = await r.store.search(collection, { tenantId: TENANT, dense: vectors[0]!, text, k: K, mode: r.mode });
        r.searchMs.push(performance.now() - ts);
        r.scores.add(
          hits.map((h) => h.documentId),
          q.goldDocumentId,
        );
      }
      progress.tick();
    }
    progress.done();

    const results: RowResult[] = rows.map((r) => ({
      name: r.name,
      mode: r.mode,
      settings: r.settings,
      ...r.scores.scores(),
      searchMs: { p50: round(percentile(r.searchMs, 50), 2), p95: round(percentile(r.searchMs, 95), 2) },
    }));
    for (const r of results) {
      if (r.mode !== 'hybrid') continue;
      const bm25 = results.find((b) => b.mode === 'sparse' && b.settings.query === r.settings.query);
      if (bm25 && bm25.recallAt5 > 0) r.recallAt5OverBm25 = round(r.recallAt5 / bm25.recallAt5, 4);
    }
    const bm25 = results[0]!;
    const hybrid = results[2]!;
    const loadEnd = os.loadavg();
    return {
      input: o.input,
      startedAt,
      wallSeconds: round((performance.now() - t0) / 1000, 1),
      paragraphs: squad.documents.length,
      questions: questions.length,
      chunking: {
        maxTokens: o.chunkMaxTokens,
        overlapTokens: o.chunkOverlapTokens,
        chunks: points.length,
        meanTokens: round(tokens / points.length, 1),
        paragraphsSplit: split,
      },
      model: {
        name: model.name,
        dimensions: model.dimensions,
        maxTokens: model.maxTokens,
        modelDir: o.modelDir,
        server: 'in-process, HTTP on loopback',
        collection,
      },
      indexing: {
        embedSeconds: round(embedSeconds, 1),
        chunksPerSecond: round(points.length / embedSeconds, 1),
        modelTokens,
        upsertSeconds: round(upsertSeconds, 1),
      },
      queryEmbeddingMs: { p50: round(percentile(embedMs, 50), 2), p95: round(percentile(embedMs, 95), 2) },
      rows: results,
      hybridOverBm25RecallAt5: bm25.recallAt5 > 0 ? round(hybrid.recallAt5 / bm25.recallAt5, 4) : NaN,
      machine: {
        cores: os.availableParallelism(),
        loadAverageStart: [round(loadStart[0]!, 2), round(loadStart[1]!, 2)],
        loadAverageEnd: [round(loadEnd[0]!, 2), round(loadEnd[1]!, 2)],
        peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      },
    };
  } finally {
    for (const s of stores) await s.close().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
    if (server) await server.close();
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The summary as a fixed-width text table plus the headline ratio. */
export function formatTable(s: BenchSummary): string {
  const head = ['mode', 'recall@1', 'recall@5', 'recall@10', 'MRR@10', 'r@5 (5 chunks)', 'r@5 ÷ BM25', 'search p50 ms', 'search p95 ms'];
  const body = s.rows.map((r) => [
    r.name,
    r.recallAt1.toFixed(3),
    r.recallAt5.toFixed(3),
    r.recallAt10.toFixed(3),
    r.mrrAt10.toFixed(3),
    r.recallAt5Chunks.toFixed(3),
    r.recallAt5OverBm25 === undefined ? '' : r.recallAt5OverBm25.toFixed(3),
    r.searchMs.p50.toFixed(1),
    r.searchMs.p95.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `${s.questions} questions, ${s.paragraphs} paragraphs → ${s.chunking.chunks} chunks (${s.chunking.maxTokens} tokens, overlap ${s.chunking.overlapTokens}); ${s.model.name} ${s.model.dimensions} dims`,
    `query embedding p50 ${s.queryEmbeddingMs.p50.toFixed(1)} ms, p95 ${s.queryEmbeddingMs.p95.toFixed(1)} ms; indexing ${s.indexing.chunksPerSecond} chunks/s; ` +
      `load average ${s.machine.loadAverageStart[0]} → ${s.machine.loadAverageEnd[0]} on ${s.machine.cores} cores; ${s.wallSeconds} s`,
    line(head),
    line(head.map((_, i) => '-'.repeat(widths[i]!))),
    ...body.map(line),
    `hybrid ÷ BM25 recall@5 (default settings): ${s.hybridOverBm25RecallAt5.toFixed(3)}`,
  ].join('\n');
}
