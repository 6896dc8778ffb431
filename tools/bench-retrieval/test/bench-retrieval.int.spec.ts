import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { chunkText } from '@llmgov/embeddings';
import { defaultModelDir, missingModelFiles } from '@llmgov/embeddings-server';
import { runRetrievalBench, type BenchProgress, type BenchSummary } from '../src/run.js';

// The real model: all-MiniLM-L6-v2 from infra/local/models.sh. Without its files the suite skips and says why.
const modelDir = defaultModelDir();
const missing = missingModelFiles(modelDir);
const skip = missing.length > 0 ? `model files missing in ${modelDir} (${missing.join(', ')}); run infra/local/models.sh outside the network namespace` : false;

/** Four paragraphs on unrelated topics; the last question shares no content word with its paragraph. */
const paragraphs = [
  'The Eiffel Tower was built for the 1889 World Fair in Paris and was the tallest structure in the world until 1930.',
  'Photosynthesis converts light energy into chemical energy; plants use chlorophyll to capture sunlight.',
  'The central bank raised interest rates by a quarter point to slow inflation.',
  'The feline dozed on the rug for the whole afternoon while rain fell outside.',
];
const questions = [
  ['When was the Eiffel Tower built?', 0],
  ['What do plants use to capture sunlight?', 1],
  ['Why did the central bank raise interest rates?', 2],
  ['Where did the cat sleep?', 3], // no shared content word: cat/feline, sleep/dozed
] as const;

const progress: BenchProgress = { phase: () => undefined, tick: () => undefined, done: () => undefined, log: () => undefined };
const benchDirs = async (): Promise<string[]> => (await readdir(os.tmpdir())).filter((d) => d.startsWith('bench-retrieval-'));

describe('bench-retrieval on a small SQuAD file with the real all-MiniLM-L6-v2', { skip }, () => {
  let dir: string;
  let summary: BenchSummary;
  let leftBehind: string[];
  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'bench-retrieval-spec-input-'));
    const input = join(dir, 'squad.json');
    const qas = (p: number) => questions.filter(([, gold]) => gold === p).map(([question], i) => ({ id: `q${p}-${i}`, question, answers: [] }));
    await writeFile(input, JSON.stringify({ data: [{ title: 'Mixed', paragraphs: paragraphs.map((context, p) => ({ context, qas: qas(p) })) }] }));
    const before = await benchDirs();
    summary = await runRetrievalBench(
      { input, chunkMaxTokens: 16, chunkOverlapTokens: 4, modelDir, batch: 3, query: 'raw', variants: [{ rrfK: 60, dense: 1, lexical: 1 }] },
      progress,
    );
    leftBehind = (await benchDirs()).filter((d) => !before.includes(d));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('chunks with the embedder chunker and its settings, and names the index as the indexer would', () => {
    assert.equal(summary.paragraphs, 4);
    assert.equal(summary.questions, 4);
    const counts = paragraphs.map((p) => chunkText(p, 16, 4).length);
    assert.equal(
      summary.chunking.chunks,
      counts.reduce((a, b) => a + b),
    );
    assert.equal(summary.chunking.paragraphsSplit, counts.filter((n) => n > 1).length);
    assert.ok(summary.chunking.paragraphsSplit > 0, 'some paragraphs are longer than 16 tokens');
    assert.equal(summary.model.collection, 'chunks_all-MiniLM-L6-v2_384_v1');
  });

  it('BM25 misses the paraphrase, dense and hybrid find it; every row is a fraction and timed', () => {
    const row = (name: string) => summary.rows.find((r) => r.name === name)!;
    assert.deepEqual(
      summary.rows.map((r) => r.name),
      ['bm25', 'dense', 'hybrid', 'hybrid k=60 d=1 l=1'],
    );
    assert.equal(row('bm25').recallAt10, 3 / 4, 'no word of "Where did the cat sleep?" is in its paragraph');
    assert.equal(row('dense').recallAt1, 1);
    assert.equal(row('hybrid').recallAt5, 1);
    assert.ok(Math.abs(summary.hybridOverBm25RecallAt5 - row('hybrid').recallAt5 / row('bm25').recallAt5) < 1e-4);
    for (const r of summary.rows) {
      for (const x of [r.recallAt1, r.recallAt5, r.recallAt10, r.mrrAt10, r.recallAt5Chunks]) assert.ok(x >= 0 && x <= 1);
      assert.ok(r.recallAt1 <= r.recallAt5 && r.recallAt5 <= r.recallAt10);
      assert.ok(r.searchMs.p50 > 0 && r.searchMs.p50 <= r.searchMs.p95);
    }
    assert.ok(summary.queryEmbeddingMs.p50 > 0);
  });

  it('deletes its temporary store', () => {
    assert.deepEqual(leftBehind, []);
  });
});
