import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root: four levels above this compiled file (tools/llama-engine/dist/src/engine.js). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** What infra/local/models.sh writes to `.local/models/models.env`: absolute paths. */
export interface LocalModels {
  /** The venv's Python, which has xllamacpp. */
  python: string;
  /** SmolLM2-135M-Instruct, Q4_1 (chat model: use /v1/chat/completions). */
  smollm2Gguf: string;
  /** Gemma 3 270M base, Q4_K_M (base model: use /v1/completions with a prompt template and a newline stop). */
  gemma3Gguf: string;
  /** all-MiniLM-L6-v2 (tokenizer + int8 ONNX) for tools/embeddings-server. */
  embeddingsModelDir: string;
  /** The pinned xllamacpp wheel version installed in the venv (llama.cpp's server build). */
  xllamacppVersion?: string;
}

/**
 * Reads `.local/models/models.env` under `root` (default: this repository) and checks that the files it names exist.
 * Returns `{ models }`, or `{ missing }` with a reason that names the fix.
 */
export function localModels(root: string = REPO_ROOT): { models: LocalModels; missing?: undefined } | { models?: undefined; missing: string } {
  const envFile = join(root, '.local', 'models', 'models.env');
  if (!existsSync(envFile)) return { missing: `${envFile} not found; run infra/local/models.sh (outside the network namespace)` };
  const vars = new Map<string, string>();
  for (const line of readFileSync(envFile, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) vars.set(m[1]!, m[2]!);
  }
  const models: LocalModels = {
    python: vars.get('MODELS_PYTHON') ?? '',
    smollm2Gguf: vars.get('SMOLLM2_GGUF') ?? '',
    gemma3Gguf: vars.get('GEMMA3_GGUF') ?? '',
    embeddingsModelDir: vars.get('EMBEDDINGS_MODEL_DIR') ?? '',
  };
  const xllamacppVersion = vars.get('XLLAMACPP_VERSION');
  const absent = Object.entries(models).filter(([, path]) => path === '' || !existsSync(path));
  if (absent.length > 0)
    return { missing: `${absent.map(([k, p]) => `${k} (${p || 'unset'})`).join(', ')} missing; run infra/local/models.sh (outside the network namespace)` };
  return { models: xllamacppVersion ? { ...models, xllamacppVersion } : models };
}

export interface LlamaEngineOptions {
  /** GGUF file. */
  model: string;
  /** Loopback port; 0 or absent picks a free one. */
  port?: number;
  /** Total KV-cache tokens, shared by the slots (each slot gets ctxSize / parallel). Default 4096. */
  ctxSize?: number;
  /** Parallel slots. Default 1. */
  parallel?: number;
  /** CPU threads. Default: all cores. */
  threads?: number;
  /** Served model name. Default: the file name without `.gguf`. */
  alias?: string;
  /** Python with xllamacpp. Default: `.local/venv/bin/python` of this repository. */
  python?: string;
  /** Give up when /health is not OK after this long, ms. Default 180 000 (a loaded 2-core machine is slow). */
  startTimeoutMs?: number;
  /** Called with each line the engine writes to stderr (llama.cpp's log). Default: kept for error messages only. */
  onLog?: (line: string) => void;
}

export interface LlamaEngineHandle {
  /** `http://127.0.0.1:PORT` (OpenAI routes under `/v1`, plus `/health`, `/metrics`, `/slots`, `/props`). */
  url: string;
  port: number;
  pid: number;
  /** The served model name. */
  model: string;
  parallel: number;
  ctxSize: number;
  /** From spawn to /health OK, ms. */
  startupMs: number;
  /** SIGTERM, then SIGKILL after 15 s. Resolves when the process has exited. */
  close(): Promise<void>;
}

/** A free loopback port (bound and released; another process could take it before the engine does). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts llama.cpp's server (infra/local/llama_server.py under the xllamacpp venv) for one GGUF file on 127.0.0.1
 * and resolves once `/health` is OK. Rejects with the engine's last log lines when it exits or does not become
 * healthy in time (then the process is killed).
 */
export async function startLlamaEngine(options: LlamaEngineOptions): Promise<LlamaEngineHandle> {
  const python = options.python ?? join(REPO_ROOT, '.local', 'venv', 'bin', 'python');
  if (!existsSync(python)) throw new Error(`${python} not found; run infra/local/models.sh (outside the network namespace) to create the venv with xllamacpp`);
  if (!existsSync(options.model)) throw new Error(`GGUF file ${options.model} not found; run infra/local/models.sh (outside the network namespace)`);
  const port = options.port || (await freePort());
  const ctxSize = options.ctxSize ?? 4096;
  const parallel = options.parallel ?? 1;
  const startTimeoutMs = options.startTimeoutMs ?? 180_000;
  const args = [
    join(REPO_ROOT, 'infra', 'local', 'llama_server.py'),
    '--model',
    options.model,
    '--port',
    String(port),
    '--ctx-size',
    String(ctxSize),
    '--parallel',
    String(parallel),
  ];
  args.push('--start-timeout', String(Math.ceil(startTimeoutMs / 1000)));
  if (options.threads !== undefined) args.push('--threads', String(options.threads));
  if (options.alias !== undefined) args.push('--alias', options.alias);

  const t0 = performance.now();
  const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    options.onLog?.(line);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };

  let listening: { url: string; pid: number };
  try {
    listening = await new Promise((resolveListen, reject) => {
      const timer = setTimeout(() => reject(new Error(`llama.cpp engine for ${options.model} not healthy after ${startTimeoutMs} ms`)), startTimeoutMs + 5_000);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`llama.cpp engine for ${options.model} exited with code ${code} before listening`));
      });
      createInterface({ input: child.stdout }).on('line', (line) => {
        try {
          const rec = JSON.parse(line) as { event?: string; url?: string; pid?: number };
          if (rec.event === 'listening' && rec.url) {
            clearTimeout(timer);
            resolveListen({ url: rec.url, pid: rec.pid ?? child.pid ?? 0 });
          }
        } catch {
          /* not our JSON line */
        }
      });
    });
  } catch (err) {
    await kill();
    throw new Error(`${(err as Error).message}\n--- last engine log lines ---\n${tail.join('\n')}`, { cause: err });
  }
  const models = (await (await fetch(`${listening.url}/v1/models`)).json()) as { data?: { id: string }[] };
  return {
    url: listening.url,
    port,
    pid: listening.pid,
    model: models.data?.[0]?.id ?? options.alias ?? '',
    parallel,
    ctxSize,
    startupMs: Math.round(performance.now() - t0),
    close: kill,
  };
}
