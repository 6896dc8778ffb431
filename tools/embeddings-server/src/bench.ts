#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { intArg } from '@llmgov/cli-args';
import { OpenAIEmbeddingsClient } from '@llmgov/embeddings';
import { z } from 'zod';
import { defaultModelDir } from './model.js';

const program = new Command()
  .name('embeddings-bench')
  .description(
    'Starts embeddings-server as a child process and embeds SQuAD paragraphs through OpenAIEmbeddingsClient twice: one ' +
      'passage per request, one request at a time (baseline), then batched requests in parallel. Prints passages/s, ' +
      'tokens/s, the ratio of the two, start-up time, server RSS and the load average.',
  )
  .option('--input <path>', 'SQuAD v1.1 JSON', '../shared/data/squad-v1.1-dev-subset.json')
  .option('--passages <n>', 'paragraphs to embed in each phase', intArg(1), 200)
  .option('--batch <n>', 'passages per request in the batched phase', intArg(1), 16)
  .option('--concurrency <n>', 'requests in flight in the batched phase', intArg(1), 4)
  .option('--model-dir <dir>', 'model directory', defaultModelDir())
  .option('--threads <n>', 'server ONNX Runtime threads (default: all cores)', intArg(1))
  .option('--server-max-batch <n>', "server's --max-batch-size (texts per forward pass)", intArg(1), 8);
program.parse();
const o = program.opts<{ input: string; passages: number; batch: number; concurrency: number; modelDir: string; threads?: number; serverMaxBatch: number }>();

const squad = z.object({ data: z.array(z.object({ paragraphs: z.array(z.object({ context: z.string() })) })) });
let passages: string[];
try {
  passages = squad
    .parse(JSON.parse(readFileSync(o.input, 'utf8')))
    .data.flatMap((a) => a.paragraphs.map((p) => p.context))
    .slice(0, o.passages);
} catch (err) {
  console.error(`cannot read SQuAD paragraphs from ${o.input}: ${(err as Error).message}. Pass --input PATH (run from the repo root for the default)`);
  process.exit(2);
}

const main = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
const args = [
  main,
  '--port',
  '0',
  '--model-dir',
  o.modelDir,
  '--max-batch-size',
  String(o.serverMaxBatch),
  ...(o.threads === undefined ? [] : ['--threads', String(o.threads)]),
];
const t0 = performance.now();
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'info' } });
const rssKb = (field: 'VmRSS' | 'VmHWM'): number => {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
};

try {
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`embeddings-server exited with ${code} before listening (see its log above)`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; url?: string };
        if (rec.msg === 'listening' && rec.url) resolve(rec.url);
      } catch {
        /* not a log line */
      }
    });
  });
  const startupMs = performance.now() - t0;
  const client = new OpenAIEmbeddingsClient({ baseUrl: url, model: 'all-MiniLM-L6-v2', maxBatchSize: o.batch, timeoutMs: 600_000 });
  await client.embed(passages.slice(0, 4)); // warm-up

  const phase = async (name: string, run: () => Promise<number>): Promise<{ name: string; perSec: number; tokensPerSec: number; seconds: number }> => {
    const start = performance.now();
    const tokens = await run();
    const seconds = (performance.now() - start) / 1000;
    return { name, perSec: passages.length / seconds, tokensPerSec: tokens / seconds, seconds };
  };
  const baseline = await phase('one passage per request, sequential', async () => {
    let tokens = 0;
    for (const p of passages) tokens += (await client.embed([p])).usage.prompt_tokens;
    return tokens;
  });
  const batched = await phase(`${o.batch} passages per request, ${o.concurrency} in flight`, async () => {
    const chunks: string[][] = [];
    for (let i = 0; i < passages.length; i += o.batch) chunks.push(passages.slice(i, i + o.batch));
    let next = 0;
    let tokens = 0;
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (next < chunks.length) {
          const r = await client.embed(chunks[next++]!);
          tokens += r.usage.prompt_tokens; // after the await: `tokens += await …` would read tokens before it
        }
      }),
    );
    return tokens;
  });
  const [l1, l5] = loadavg();
  const report = {
    passages: passages.length,
    avgTokensPerPassage: +((batched.tokensPerSec * batched.seconds) / passages.length).toFixed(1),
    startupMs: Math.round(startupMs),
    phases: [baseline, batched].map((p) => ({ ...p, perSec: +p.perSec.toFixed(1), tokensPerSec: Math.round(p.tokensPerSec), seconds: +p.seconds.toFixed(1) })),
    batchedOverBaseline: +(batched.perSec / baseline.perSec).toFixed(2),
    serverRssMb: Math.round(rssKb('VmRSS') / 1024),
    serverPeakRssMb: Math.round(rssKb('VmHWM') / 1024),
    loadavg1m: +l1!.toFixed(2),
    loadavg5m: +l5!.toFixed(2),
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  child.kill('SIGTERM');
}
