#!/usr/bin/env node
import { Command, Option } from 'commander';
import { intArg, numArg } from '@llmgov/cli-args';
import { pino } from 'pino';
import { startEngine } from './engine.js';
import { DEFAULT_OPTIONS, type EngineOptions } from './options.js';
import { TOKENIZER_NAMES, type TokenizerName } from './tokenizer.js';

const d = DEFAULT_OPTIONS;

const program = new Command()
  .name('vllm-sim')
  .description(
    'vLLM-compatible TEST engine: OpenAI-compatible API and vLLM metric names, continuous-batching capacity model, ' +
      'timing from real token counts. No model, no GPU; answers are an extractive stand-in, not model output.',
  )
  .option('--host <host>', 'interface to listen on', d.host)
  .option('--port <port>', 'TCP port (0 = any free port)', intArg(0, 65535), 18000)
  .option('--model <names>', 'served model name(s), comma-separated aliases of this engine', d.models.join(','))
  .option('--max-num-seqs <n>', 'sequences in the running batch', intArg(1), d.maxNumSeqs)
  .option('--max-waiting <n>', 'waiting-queue cap; beyond it requests get 503', intArg(0), d.maxWaiting)
  .option('--kv-cache-tokens <n>', 'KV-cache capacity in tokens', intArg(2), d.kvCacheTokens)
  .option('--max-model-len <n>', 'largest prompt + max_tokens accepted (default: --kv-cache-tokens)', intArg(2))
  .option('--prefill-ms-per-token <ms>', 'prefill time per prompt token', numArg(0), d.prefillMsPerToken)
  .option('--prefill-base-ms <ms>', 'fixed prefill time per sequence', numArg(0), d.prefillBaseMs)
  .option('--decode-base-ms <ms>', 'fixed time of one decode step', numArg(0), d.decodeBaseMs)
  .option('--decode-ms-per-seq <ms>', 'decode step time per running sequence', numArg(0), d.decodeMsPerSeq)
  .option('--default-max-tokens <n>', 'output cap when a request sets no max_tokens', intArg(1), d.defaultMaxTokens)
  .addOption(new Option('--tokenizer <name>', 'BPE used for token counts').choices([...TOKENIZER_NAMES]).default(d.tokenizer))
  .option('--body-limit <bytes>', 'largest request body accepted', intArg(1), d.bodyLimitBytes)
  .option('--fail-rate <r>', 'fault: fraction of generation requests answered with --fail-status', numArg(0, 1), d.failRate)
  .option('--fail-status <code>', 'fault: status used by --fail-rate', intArg(400, 599), d.failStatus)
  .option('--ignore-eos', 'treat every request as ignore_eos: generate exactly max_tokens (trace replay)', false)
  .option('--hang', 'fault: accept generation requests and never answer them', false)
  .option('--seed <n>', 'seed of the fault-injection random stream', intArg(0, 2 ** 32 - 1))
  .option('--shutdown-grace-ms <ms>', 'on SIGTERM/SIGINT, time allowed for in-flight requests', intArg(0), 5000);

program.parse();
const o = program.opts<{
  host: string;
  port: number;
  model: string;
  maxNumSeqs: number;
  maxWaiting: number;
  kvCacheTokens: number;
  maxModelLen?: number;
  prefillMsPerToken: number;
  prefillBaseMs: number;
  decodeBaseMs: number;
  decodeMsPerSeq: number;
  defaultMaxTokens: number;
  tokenizer: TokenizerName;
  bodyLimit: number;
  failRate: number;
  failStatus: number;
  hang: boolean;
  ignoreEos: boolean;
  seed?: number;
  shutdownGraceMs: number;
}>();

const log = pino({ name: 'vllm-sim' });
const options: EngineOptions = {
  host: o.host,
  port: o.port,
  models: o.model.split(','),
  maxNumSeqs: o.maxNumSeqs,
  maxWaiting: o.maxWaiting,
  kvCacheTokens: o.kvCacheTokens,
  prefillMsPerToken: o.prefillMsPerToken,
  prefillBaseMs: o.prefillBaseMs,
  decodeBaseMs: o.decodeBaseMs,
  decodeMsPerSeq: o.decodeMsPerSeq,
  defaultMaxTokens: o.defaultMaxTokens,
  tokenizer: o.tokenizer,
  bodyLimitBytes: o.bodyLimit,
  failRate: o.failRate,
  failStatus: o.failStatus,
  hang: o.hang,
  ignoreEos: o.ignoreEos,
};
if (o.maxModelLen !== undefined) options.maxModelLen = o.maxModelLen;
if (o.seed !== undefined) options.seed = o.seed;

try {
  const engine = await startEngine(options);
  log.info({ url: engine.url, models: engine.models, ...options }, 'vllm-sim listening (test engine, not a model)');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceMs: o.shutdownGraceMs }, 'shutting down');
    engine
      .close({ graceMs: o.shutdownGraceMs })
      .then(() => {
        log.info({ stats: engine.stats() }, 'stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (err) {
  log.error({ err }, 'vllm-sim failed to start');
  process.exit(1);
}
