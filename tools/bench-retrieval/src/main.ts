#!/usr/bin/env node
/**
 * bench-retrieval: recall@1/5/10, MRR@10 and time per query of BM25, dense (all-MiniLM-L6-v2) and hybrid RRF on the
 * same chunks of a SQuAD file. See bench/README.md ("Retrieval") for the results and every setting tried.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { intArg } from '@llmgov/cli-args';
import { DEFAULT_CHUNK_MAX_TOKENS, DEFAULT_CHUNK_OVERLAP_TOKENS } from '@llmgov/config';
import { defaultModelDir, ModelFilesMissingError } from '@llmgov/embeddings-server';
import { formatTable, runRetrievalBench, type BenchProgress } from './run.js';
import { LEXICAL_QUERY_FORMS, parseVariant, type HybridVariant, type LexicalQueryForm } from './settings.js';

/** The repository root: four levels above this compiled file (tools/bench-retrieval/dist/src/main.js). */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

const variantArg = (v: string, previous: HybridVariant[] = []): HybridVariant[] => {
  try {
    return [...previous, parseVariant(v)];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

const program = new Command('bench-retrieval')
  .description(
    "Retrieval on real vectors: chunks the SQuAD paragraphs with the embedder's chunker and chunk settings, embeds them with " +
      'all-MiniLM-L6-v2 (tools/embeddings-server, started in this process on a free loopback port and reached through ' +
      'OpenAIEmbeddingsClient), indexes them into a fresh temporary LanceDB store, and asks the questions. Reports for BM25, ' +
      'dense and hybrid (RRF) on the same chunks: recall@1, recall@5, recall@10, MRR@10, and time per query (query ' +
      'embedding and search, p50/p95 ms). A question is a hit when its gold paragraph is among the paragraphs of the ' +
      'retrieved chunks (chunks deduplicated to paragraphs in rank order). Needs no Kafka stack.',
  )
  .option('--input <path>', 'SQuAD v1.1-format file', path.resolve(root, '../shared/data/squad-v1.1-dev-subset.json'))
  .option('--questions <n>', 'ask only the first N questions (interleaved across articles, as the demo orders them; default: all)', intArg(1))
  .option('--summary <path>', 'write the results as JSON here')
  .option('--json', 'print the results as JSON on stdout instead of the table (progress goes to stderr)')
  .option('--chunk-tokens <n>', "chunk size, cl100k_base tokens (the embedder's CHUNK_MAX_TOKENS)", intArg(16, 8192), DEFAULT_CHUNK_MAX_TOKENS)
  .option('--chunk-overlap <n>', "chunk overlap, tokens (the embedder's CHUNK_OVERLAP_TOKENS)", intArg(0, 1024), DEFAULT_CHUNK_OVERLAP_TOKENS)
  .addOption(new Option('--query <form>', 'lexical query form of the bm25 and hybrid rows').choices(LEXICAL_QUERY_FORMS).default('raw'))
  .option(
    '--variant <spec>',
    'also measure a hybrid setting, e.g. "rrfK=20,dense=0.7,lexical=1,query=keywords" (repeatable; absent keys take the store defaults)',
    variantArg,
    [],
  )
  .option('--model-dir <dir>', 'all-MiniLM-L6-v2 files (infra/local/models.sh)', defaultModelDir())
  .option('--threads <n>', 'ONNX Runtime threads of the embeddings server (default: all cores)', intArg(1, 256))
  .option('--batch <n>', 'texts per /v1/embeddings request while indexing', intArg(1, 2048), 32)
  .addHelpText(
    'after',
    "\nQuery forms: raw = the question as asked; plain = lower case, punctuation and possessive 's dropped; keywords = plain " +
      'without English stop words (question words included). The dense leg always embeds the question as asked.',
  );
program.parse();
const o = program.opts<{
  input: string;
  questions?: number;
  summary?: string;
  json?: boolean;
  chunkTokens: number;
  chunkOverlap: number;
  query: LexicalQueryForm;
  variant: HybridVariant[];
  modelDir: string;
  threads?: number;
  batch: number;
}>();
if (o.chunkOverlap >= o.chunkTokens) program.error(`--chunk-overlap (${o.chunkOverlap}) must be smaller than --chunk-tokens (${o.chunkTokens})`);

const log = (msg: string): void => void process.stderr.write(`[bench-retrieval] ${msg}\n`);
let bar: cliProgress.SingleBar | undefined;
const progress: BenchProgress = {
  phase(name, total) {
    bar = new cliProgress.SingleBar(
      { format: `[bench-retrieval] ${name.padEnd(16)} [{bar}] {value}/{total} {eta_formatted}`, hideCursor: true, noTTYOutput: true, notTTYSchedule: 10_000 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
  },
  tick(n = 1) {
    bar?.increment(n);
  },
  done() {
    bar?.stop();
    bar = undefined;
  },
  log(message) {
    if (bar) bar.stop();
    log(message);
  },
};

const abort = new AbortController();
process.once('SIGINT', () => {
  log('interrupted: stopping the embeddings server and deleting the temporary store');
  abort.abort();
});

try {
  const summary = await runRetrievalBench(
    {
      input: o.input,
      ...(o.questions === undefined ? {} : { questions: o.questions }),
      chunkMaxTokens: o.chunkTokens,
      chunkOverlapTokens: o.chunkOverlap,
      modelDir: o.modelDir,
      ...(o.threads === undefined ? {} : { threads: o.threads }),
      batch: o.batch,
      query: o.query,
      variants: o.variant,
    },
    progress,
    abort.signal,
  );
  const args = process.argv.slice(2); // the CLI's arguments, as `npm run bench:retrieval -- ARGS` passes them
  if (o.summary) {
    mkdirSync(path.dirname(path.resolve(o.summary)), { recursive: true });
    writeFileSync(o.summary, `${JSON.stringify({ args, ...summary }, null, 2)}\n`);
  }
  if (o.json) process.stdout.write(`${JSON.stringify({ args, ...summary }, null, 2)}\n`);
  else process.stdout.write(`${formatTable(summary)}\n${o.summary ? `summary: ${o.summary}\n` : ''}`);
} catch (err) {
  progress.done();
  if (err instanceof ModelFilesMissingError) log(err.message);
  else log(err instanceof Error ? err.message : String(err));
  process.exitCode = abort.signal.aborted ? 130 : 1;
}
