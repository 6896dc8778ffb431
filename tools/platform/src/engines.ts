import path from 'node:path';
import { localModels } from '@llmgov/llama-engine';

/**
 * Which engines stand behind the local platform:
 * - `llama` (the default of `npm start` and the demo): real models. llama.cpp's server from the `xllamacpp` wheel runs
 *   SmolLM2-135M-Instruct (tier S, chat API) and Gemma 3 270M (tiers M and L, completions API), and
 *   tools/embeddings-server runs all-MiniLM-L6-v2 for the embedder and the router. Model files come from
 *   infra/local/models.sh (`bash scripts/setup.sh --models`).
 * - `sim`: tools/vllm-sim per tier (fast, deterministic stand-in answers) and the hashing embedder; used by the
 *   integration tests, the chaos suite and the flow-control benchmarks.
 */
export type EngineKind = 'llama' | 'sim';
export const ENGINE_KINDS: readonly EngineKind[] = ['llama', 'sim'];

/** One local engine process the platform starts and supervises. */
export interface LocalEngineSpec {
  /** Process name (log file `<name>.log`). */
  name: string;
  /** `llm` engines serve tiers through the inference worker's pools; `embeddings` serves the embedder and router. */
  role: 'llm' | 'embeddings';
  /** Tiers whose pool points at this engine (empty for embeddings). */
  tiers: readonly ('S' | 'M' | 'L')[];
  /** Executable; default the current node binary. */
  command?: string;
  script: string;
  args: string[];
  port: number;
  readyPath: string;
  /** Start-up allowance, ms (loading a model on a busy 2-core machine takes a while). */
  readyTimeoutMs: number;
  /** For the demo's summary: what runs, from which file, at which quantisation. */
  info: { backend: string; model: string; model_file: string | null; quantization: string | null };
}

export interface LocalEngines {
  kind: EngineKind;
  engines: LocalEngineSpec[];
  /** Environment for the services, so that they use these engines (pool file, embeddings endpoint, tier models). */
  serviceEnv: Record<string, string>;
}

/** Thrown when `llama` engines are asked for and the model files are not installed; the message names the fix. */
export class LocalModelsMissingError extends Error {
  override readonly name = 'LocalModelsMissingError';
}

/** Served model names; infra/pools/local-llama.json and the router's TIER_MODELS use the same. */
export const LLAMA_MODELS = { S: 'smollm2-135m-instruct', M: 'gemma-3-270m', L: 'gemma-3-270m', embeddings: 'all-MiniLM-L6-v2' } as const;

/** Local test engines standing in for the vLLM pools, one per tier (see tools/vllm-sim/README.md). */
const SIM_ENGINES = [
  {
    tier: 'S',
    model: 'local-sim-s',
    port: 18001,
    args: ['--max-num-seqs', '16', '--max-waiting', '64', '--decode-base-ms', '4', '--decode-ms-per-seq', '0.5'],
  },
  { tier: 'M', model: 'local-sim-m', port: 18002, args: ['--max-num-seqs', '8', '--max-waiting', '32', '--decode-base-ms', '8', '--decode-ms-per-seq', '1'] },
  { tier: 'L', model: 'local-sim-l', port: 18003, args: ['--max-num-seqs', '4', '--max-waiting', '16', '--decode-base-ms', '15', '--decode-ms-per-seq', '2'] },
] as const;

/** Port of the local embeddings server (the llama engine set). */
export const EMBEDDINGS_PORT = 18300;

/**
 * The engine processes of a kind and the service environment that points the services at them.
 * Ports: LLM engines on 18001-18003 (the pool files' URLs), embeddings on {@link EMBEDDINGS_PORT}.
 * @throws LocalModelsMissingError for `llama` when infra/local/models.sh has not installed the model files.
 */
export function localEngines(kind: EngineKind, root: string): LocalEngines {
  if (kind === 'sim') {
    return {
      kind,
      engines: SIM_ENGINES.map((e) => ({
        name: `vllm-sim-${e.tier.toLowerCase()}`,
        role: 'llm',
        tiers: [e.tier],
        script: path.join(root, 'tools/vllm-sim/dist/src/main.js'),
        args: ['--port', String(e.port), '--model', e.model, ...e.args],
        port: e.port,
        readyPath: '/health',
        readyTimeoutMs: 60_000,
        info: { backend: 'vllm-sim', model: e.model, model_file: null, quantization: null },
      })),
      serviceEnv: {
        POOLS_FILE: path.join(root, 'infra/pools/local.json'),
        EMBEDDINGS: 'local',
        TIER_MODELS: SIM_ENGINES.map((e) => `${e.tier}=${e.model}`).join(','),
      },
    };
  }
  const found = localModels(root);
  if (found.missing !== undefined) throw new LocalModelsMissingError(`real local models are not installed: ${found.missing}; or use --engine sim`);
  const m = found.models;
  const backend = `llama.cpp server (xllamacpp ${m.xllamacppVersion ?? 'unknown version'})`;
  const llama = (name: string, tiers: LocalEngineSpec['tiers'], port: number, file: string, alias: string, quantization: string, ctxSize: number) => ({
    name,
    role: 'llm' as const,
    tiers,
    command: m.python,
    script: path.join(root, 'infra/local/llama_server.py'),
    // Two slots: llama.cpp adds no throughput with more on 2 cores, but a second slot lets a short request start
    // while a long one decodes. The KV cache (ctx-size tokens) is split between the slots.
    args: [
      '--model',
      file,
      '--port',
      String(port),
      '--alias',
      alias,
      '--parallel',
      '2',
      '--ctx-size',
      String(ctxSize),
      '--start-timeout',
      '170',
      // One thread per engine: the two engines then share the 2 cores without oversubscribing them. llama.cpp's threads
      // synchronise after every layer, so two engines with 2 threads each on 2 cores wait on each other; measured with
      // the demo (60 questions, 8 open jobs): 152 s with 1 thread against 214 s with 2 (README "The main job").
      '--threads',
      process.env['LLAMA_THREADS'] ?? '1',
    ],
    port,
    readyPath: '/health',
    readyTimeoutMs: 180_000,
    info: { backend, model: alias, model_file: path.relative(root, file), quantization },
  });
  return {
    kind,
    engines: [
      {
        name: 'embeddings',
        role: 'embeddings',
        tiers: [],
        script: path.join(root, 'tools/embeddings-server/dist/src/main.js'),
        args: ['--port', String(EMBEDDINGS_PORT), '--model-dir', m.embeddingsModelDir, '--model-name', LLAMA_MODELS.embeddings],
        port: EMBEDDINGS_PORT,
        readyPath: '/health',
        readyTimeoutMs: 180_000,
        info: {
          backend: 'onnxruntime-node (transformers.js), tools/embeddings-server',
          model: LLAMA_MODELS.embeddings,
          model_file: path.relative(root, path.join(m.embeddingsModelDir, 'onnx', 'model_quantized.onnx')),
          quantization: 'int8',
        },
      },
      llama('llama-s', ['S'], 18001, m.smollm2Gguf, LLAMA_MODELS.S, 'Q4_1', 4096),
      llama('llama-m', ['M', 'L'], 18002, m.gemma3Gguf, LLAMA_MODELS.M, 'Q4_K_M', 6144),
    ],
    serviceEnv: {
      POOLS_FILE: path.join(root, 'infra/pools/local-llama.json'),
      EMBEDDINGS: 'openai',
      EMBEDDINGS_URL: `http://127.0.0.1:${EMBEDDINGS_PORT}`,
      EMBEDDINGS_MODEL: LLAMA_MODELS.embeddings,
      TIER_MODELS: `S=${LLAMA_MODELS.S},M=${LLAMA_MODELS.M},L=${LLAMA_MODELS.L}`,
    },
  };
}
