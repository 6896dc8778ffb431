#!/usr/bin/env node
import { Command } from 'commander';
import { intArg } from '@llmgov/cli-args';
import { pino } from 'pino';
import { defaultModelDir, loadEmbeddingModel, ModelFilesMissingError } from './model.js';
import { startEmbeddingsServer } from './server.js';

const program = new Command()
  .name('embeddings-server')
  .description(
    'Local OpenAI-compatible embeddings server: all-MiniLM-L6-v2 (int8 ONNX, 384 dimensions) on onnxruntime-node via ' +
      'transformers.js; mean pooling, unit-length vectors; POST /v1/embeddings, GET /v1/models, /health, /metrics. ' +
      'Model files come from infra/local/models.sh.',
  )
  .option('--model-dir <dir>', 'directory with tokenizer.json, config.json and onnx/model_quantized.onnx', defaultModelDir())
  .option('--model-name <name>', 'served model id (default: the directory name)')
  .option('--alias <names>', 'other accepted model names, comma-separated', '')
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--port <port>', 'TCP port (0 = any free port)', intArg(0, 65535), 18300)
  .option('--max-tokens <n>', 'tokens per input; longer inputs are truncated', intArg(8, 512), 256)
  .option('--max-batch-size <n>', 'most texts in one forward pass', intArg(1, 1024), 8)
  .option('--max-queued-texts <n>', 'texts waiting before requests get 503', intArg(1), 1024)
  .option('--max-inputs <n>', 'most inputs in one request', intArg(1), 2048)
  .option('--max-input-chars <n>', 'longest input accepted, characters', intArg(1), 20_000)
  .option('--body-limit <bytes>', 'largest request body accepted', intArg(1), 4 * 1024 * 1024)
  .option('--threads <n>', 'ONNX Runtime intra-op threads (default: all cores)', intArg(1, 256));
program.parse();
const o = program.opts<{
  modelDir: string;
  modelName?: string;
  alias: string;
  host: string;
  port: number;
  maxTokens: number;
  maxBatchSize: number;
  maxQueuedTexts: number;
  maxInputs: number;
  maxInputChars: number;
  bodyLimit: number;
  threads?: number;
}>();

const log = pino({ name: 'embeddings-server', level: process.env['LOG_LEVEL'] ?? 'info' });
const t0 = performance.now();
try {
  const model = await loadEmbeddingModel({
    modelDir: o.modelDir,
    maxTokens: o.maxTokens,
    ...(o.modelName === undefined ? {} : { name: o.modelName }),
    ...(o.threads === undefined ? {} : { threads: o.threads }),
  });
  const handle = await startEmbeddingsServer(model, {
    host: o.host,
    port: o.port,
    aliases: o.alias.split(',').filter((a) => a !== ''),
    maxBatchSize: o.maxBatchSize,
    maxQueuedTexts: o.maxQueuedTexts,
    maxInputs: o.maxInputs,
    maxInputChars: o.maxInputChars,
    bodyLimitBytes: o.bodyLimit,
  });
  log.info(
    { url: handle.url, model: model.name, dimensions: model.dimensions, maxTokens: model.maxTokens, startupMs: Math.round(performance.now() - t0) },
    'listening',
  );
  const stop = (signal: string): void => {
    log.info({ signal }, 'shutting down');
    void handle.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
} catch (err) {
  if (err instanceof ModelFilesMissingError) log.error(err.message);
  else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') log.error(`port ${o.port} on ${o.host} is in use; pass --port (0 = any free port)`);
  else log.error({ err }, 'embeddings server failed to start');
  process.exit(1);
}
