#!/usr/bin/env node
/**
 * bench-classifier: accuracy per intent and confusion matrix of the request classifier on the labelled evaluation set,
 * with real all-MiniLM-L6-v2 embeddings, and its CPU time per request against the embedding call. Results:
 * bench/README.md, "Classifier".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { intArg } from '@llmgov/cli-args';
import type { IntentMethod } from '@llmgov/classifier';
import { defaultModelDir } from '@llmgov/embeddings-server';
import { formatTable, parseMethod, runClassifierBench } from './run.js';

/** The repository root: four levels above this compiled file (tools/bench-classifier/dist/src/main.js). */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

const methodArg = (v: string, previous: IntentMethod[] | undefined): IntentMethod[] => {
  try {
    return [...(previous ?? []), parseMethod(v)];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

const program = new Command('bench-classifier')
  .description(
    "The request classifier on real embeddings: builds it from the policy's example utterances, embeds each labelled " +
      'evaluation request with all-MiniLM-L6-v2 (tools/embeddings-server, started in this process on a free loopback port, ' +
      'reached through OpenAIEmbeddingsClient), and reports accuracy per intent and overall, the confusion matrix, the ' +
      'classify() time per request (p50/p95/p99 ms) alone and with the embedding call, against the embedding call as the ' +
      'baseline measured in the same run, and the complexity and risk scores per intent. Needs no Kafka stack.',
  )
  .option('--policy <path>', 'classifier settings JSON (the training side)', path.resolve(root, 'infra/policies/classifier-intents.json'))
  .option('--eval <path>', 'labelled evaluation set, JSONL (the test side)', path.resolve(root, 'libs/classifier/data/intents-eval.jsonl'))
  .option(
    '--method <spec>',
    'centroid or knn:K, optionally with :center (repeatable; the first is the primary one; default: centroid:center, centroid, knn:3, knn:5, knn:3:center, knn:5:center)',
    methodArg,
  )
  .option('--repeat <n>', 'timed classify() passes over the evaluation set per method, after a warm-up pass', intArg(1, 1000), 20)
  .option(
    '--squad <path>',
    'SQuAD file of the SQuAD rows: splits their accuracy into seen and unseen articles ("" to skip)',
    path.resolve(root, '../shared/data/squad-v1.1-dev-subset.json'),
  )
  .option('--summary <path>', 'write the results as JSON here')
  .option('--json', 'print the results as JSON on stdout instead of the tables (progress goes to stderr)')
  .option('--model-dir <dir>', 'all-MiniLM-L6-v2 files (infra/local/models.sh)', defaultModelDir())
  .option('--threads <n>', 'ONNX Runtime threads of the embeddings server (default: all cores)', intArg(1, 256));
program.parse();
const o = program.opts<{
  policy: string;
  eval: string;
  squad: string;
  method?: IntentMethod[];
  repeat: number;
  summary?: string;
  json?: boolean;
  modelDir: string;
  threads?: number;
}>();

const log = (msg: string): void => void process.stderr.write(`[bench-classifier] ${msg}\n`);
const abort = new AbortController();
process.once('SIGINT', () => {
  log('interrupted: stopping the embeddings server');
  abort.abort();
});

try {
  const summary = await runClassifierBench(
    {
      policy: o.policy,
      evalSet: o.eval,
      methods: o.method ?? ['centroid:center', 'centroid', 'knn:3', 'knn:5', 'knn:3:center', 'knn:5:center'].map(parseMethod),
      repeat: o.repeat,
      modelDir: o.modelDir,
      ...(o.threads === undefined ? {} : { threads: o.threads }),
      ...(o.squad === '' ? {} : { squad: o.squad }),
    },
    log,
    abort.signal,
  );
  const args = process.argv.slice(2); // the CLI's arguments, as `npm run bench:classifier -- ARGS` passes them
  const json = `${JSON.stringify({ args, ...summary }, null, 2)}\n`;
  if (o.summary) {
    mkdirSync(path.dirname(path.resolve(o.summary)), { recursive: true });
    writeFileSync(o.summary, json);
  }
  process.stdout.write(o.json ? json : `${formatTable(summary)}\n${o.summary ? `summary: ${o.summary}\n` : ''}`);
} catch (err) {
  log(err instanceof Error ? err.message : String(err));
  process.exitCode = abort.signal.aborted ? 130 : 1;
}
