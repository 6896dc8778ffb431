/**
 * Retrieval benchmark on a SQuAD-format file (not a test; run by hand):
 *
 *   node dist/test/bench/squad-retrieval.js ../../../shared/data/squad-v1.1-dev-subset.json \
 *     [--sentences] [--char-trigrams] [--dims N] [--bigram-weight W] [--dense-weight W] [--rrf-k K] [--limit-questions N]
 *
 * Indexes every paragraph (or, with --sentences, every sentence, ≈5k chunks for the dev subset)
 * into a fresh LanceDB store with the local hashing embedder, asks every question, and prints
 * recall@1/5/10 and MRR@10 of the gold paragraph per mode (dense, sparse = BM25 FTS, hybrid = RRF)
 * plus search latency percentiles (one store instance, sequential queries, table optimised).
 * --dense-weight sets the hybrid's weighted-RRF weight of the dense list (lexical = 1), --rrf-k its k (default 60).
 * For real embeddings see tools/bench-retrieval (`npm run bench:retrieval`).
 */
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HashingEmbedder } from '@llmgov/embeddings';
import { LanceDbVectorStore, pointId, RRF_K, type ChunkPoint, type SearchMode } from '../../src/index.js';

interface Squad {
  data: { title: string; paragraphs: { context: string; qas: { id: string; question: string }[] }[] }[];
}

const args = process.argv.slice(2);
const file = args[0];
if (!file) throw new Error('usage: squad-retrieval.js <squad.json> [--sentences] [--char-trigrams] [--dims N] [--limit-questions N]');
const sentences = args.includes('--sentences');
const numArg = (name: string): number | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : undefined;
};
const dims = numArg('--dims');
const bigram = numArg('--bigram-weight');
const embedder = new HashingEmbedder({
  charTrigrams: args.includes('--char-trigrams'),
  ...(dims === undefined ? {} : { dimensions: dims }),
  ...(bigram === undefined ? {} : { weights: { bigram } }),
});
const tenant = 'bench';

const squad = JSON.parse(await readFile(file, 'utf8')) as Squad;
const points: ChunkPoint[] = [];
const questions: { text: string; documentId: string }[] = [];
squad.data.forEach((article, a) =>
  article.paragraphs.forEach((p, i) => {
    const documentId = `a${a}-p${i}`;
    const pieces = sentences ? p.context.split(/(?<=[.!?])\s+(?=[A-Z0-9"'(])/) : [p.context];
    pieces.forEach((text, j) => {
      const chunkId = `${documentId}#${j}`;
      points.push({
        id: pointId(tenant, chunkId),
        tenantId: tenant,
        documentId,
        chunkId,
        text,
        dense: embedder.embedOne(text).vector,
        contentHash: String(text.length),
        embeddingModel: `${embedder.model}@${embedder.modelVersion}`,
      });
    });
    for (const q of p.qas) if (questions.length < (numArg('--limit-questions') ?? Infinity)) questions.push({ text: q.question, documentId });
  }),
);

const dir = await mkdtemp(join(tmpdir(), 'squad-bench-'));
const denseWeight = numArg('--dense-weight');
// The README's figures were taken with plain RRF (k 60, weights 1 and 1), the store's default then; the store's default
// is now tuned for real embeddings (tools/bench-retrieval), so this hashing bench pins the paper's setting unless told.
const store = new LanceDbVectorStore({ dir, rrfK: numArg('--rrf-k') ?? RRF_K, hybridWeights: { dense: denseWeight ?? 1, lexical: 1 } });
try {
  await store.ensureCollection('squad', { dimensions: embedder.dimensions });
  let t0 = performance.now();
  for (let i = 0; i < points.length; i += 100) await store.upsert('squad', points.slice(i, i + 100));
  await store.optimize('squad');
  console.log(`indexed ${points.length} chunks in ${(performance.now() - t0).toFixed(0)} ms (${embedder.modelVersion}); ${questions.length} questions`);

  for (const mode of ['sparse', 'dense', 'hybrid'] as SearchMode[]) {
    const latencies: number[] = [];
    let r1 = 0,
      r5 = 0,
      r10 = 0,
      mrr = 0;
    t0 = performance.now();
    for (const q of questions) {
      const start = performance.now();
      const hits = await store.search('squad', { tenantId: tenant, text: q.text, dense: embedder.embedOne(q.text).vector, k: 10, mode });
      latencies.push(performance.now() - start);
      const docs = [...new Set(hits.map((h) => h.documentId))];
      const rank = docs.indexOf(q.documentId) + 1;
      if (rank >= 1 && rank <= 1) r1++;
      if (rank >= 1 && rank <= 5) r5++;
      if (rank >= 1 && rank <= 10) r10++;
      if (rank >= 1) mrr += 1 / rank;
    }
    latencies.sort((x, y) => x - y);
    const pct = (p: number): string => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(1);
    const n = questions.length;
    console.log(
      `${mode.padEnd(6)} recall@1 ${(r1 / n).toFixed(3)}  recall@5 ${(r5 / n).toFixed(3)}  recall@10 ${(r10 / n).toFixed(3)}  MRR@10 ${(mrr / n).toFixed(3)}` +
        `  | latency p50 ${pct(0.5)} ms p95 ${pct(0.95)} ms p99 ${pct(0.99)} ms`,
    );
  }
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
