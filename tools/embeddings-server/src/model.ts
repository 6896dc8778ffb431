import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoModel, AutoTokenizer, env, mean_pooling, type PreTrainedModel, type PreTrainedTokenizer, type Tensor } from '@huggingface/transformers';

/** A loaded sentence-embedding model: tokenizer + ONNX encoder, mean pooling, L2 normalisation. */
export interface EmbeddingModel {
  /** Served model id, e.g. `all-MiniLM-L6-v2`. */
  readonly name: string;
  /** Vector length (384 for all-MiniLM-L6-v2). */
  readonly dimensions: number;
  /** Inputs are truncated to this many tokens, special tokens included. */
  readonly maxTokens: number;
  /**
   * Embeds texts in one forward pass. Returns unit-length vectors in input order and, per text, the tokens the
   * model saw (after truncation, `[CLS]`/`[SEP]` included), which is what `usage.prompt_tokens` counts.
   */
  embed(texts: readonly string[]): Promise<{ vectors: Float32Array[]; tokens: number[] }>;
}

export interface LoadModelOptions {
  /**
   * Directory holding `tokenizer.json`, `tokenizer_config.json`, `config.json` and `onnx/model_quantized.onnx`
   * (the layout infra/local/models.sh writes under `.local/models/all-MiniLM-L6-v2`).
   */
  modelDir: string;
  /** Served model id. Default: the directory's name. */
  name?: string;
  /**
   * Token limit per input. Default 256: all-MiniLM-L6-v2 was trained with 128-token inputs and sentence-transformers
   * sets its `max_seq_length` to 256 (sentence_bert_config.json); its tokenizer_config's 512 is BERT's position limit.
   */
  maxTokens?: number;
  /** ONNX Runtime intra-op threads. Default: ONNX Runtime's own choice (all cores). */
  threads?: number;
}

/** Thrown when the model files are absent: the message names the fix. */
export class ModelFilesMissingError extends Error {
  constructor(
    readonly modelDir: string,
    readonly missing: string[],
  ) {
    super(`embedding model files missing in ${modelDir}: ${missing.join(', ')}. Fix: run infra/local/models.sh (outside any network namespace)`);
    this.name = 'ModelFilesMissingError';
  }
}

/** The files {@link loadEmbeddingModel} needs, relative to the model directory. */
export const REQUIRED_MODEL_FILES = ['tokenizer.json', 'tokenizer_config.json', 'config.json', 'onnx/model_quantized.onnx'] as const;

/** The model files that are absent from `modelDir` (empty when all are there). */
export function missingModelFiles(modelDir: string): string[] {
  return REQUIRED_MODEL_FILES.filter((f) => !existsSync(join(modelDir, f)));
}

/**
 * Loads all-MiniLM-L6-v2 (or another BERT-style sentence encoder in the same layout) from local files only:
 * `env.allowRemoteModels = false`, so a missing file fails here instead of reaching for a model hub.
 * Throws {@link ModelFilesMissingError} when a required file is absent.
 */
export async function loadEmbeddingModel(options: LoadModelOptions): Promise<EmbeddingModel> {
  const dir = resolve(options.modelDir);
  const missing = missingModelFiles(dir);
  if (missing.length > 0) throw new ModelFilesMissingError(dir, missing);
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${dirname(dir)}/`;
  const id = basename(dir);
  const tokenizer: PreTrainedTokenizer = await AutoTokenizer.from_pretrained(id, { local_files_only: true });
  const model: PreTrainedModel = await AutoModel.from_pretrained(id, {
    local_files_only: true,
    dtype: 'q8', // selects onnx/model_quantized.onnx
    device: 'cpu',
    ...(options.threads === undefined ? {} : { session_options: { intraOpNumThreads: options.threads, interOpNumThreads: 1 } }),
  });
  const hidden = (model.config as unknown as { hidden_size?: number }).hidden_size;
  if (typeof hidden !== 'number') throw new Error(`${dir}/config.json has no hidden_size`);
  const maxTokens = options.maxTokens ?? 256;
  return {
    name: options.name ?? id,
    dimensions: hidden,
    maxTokens,
    async embed(texts) {
      if (texts.length === 0) return { vectors: [], tokens: [] };
      const inputs = tokenizer([...texts], { padding: true, truncation: true, max_length: maxTokens }) as unknown as {
        attention_mask: Tensor;
      } & Record<string, Tensor>;
      const out = (await model(inputs)) as { last_hidden_state: Tensor };
      const pooled = mean_pooling(out.last_hidden_state, inputs.attention_mask).normalize(2, -1);
      const data = pooled.data as Float32Array;
      const [rows, dims] = pooled.dims as [number, number];
      const vectors: Float32Array[] = [];
      for (let r = 0; r < rows; r++) vectors.push(data.slice(r * dims, (r + 1) * dims));
      const mask = inputs.attention_mask;
      const maskData = mask.data as BigInt64Array | Int32Array | Float32Array;
      const seqLen = (mask.dims as number[])[1] ?? 0;
      const tokens: number[] = [];
      for (let r = 0; r < rows; r++) {
        let n = 0;
        for (let c = 0; c < seqLen; c++) n += Number(maskData[r * seqLen + c]);
        tokens.push(n);
      }
      return { vectors, tokens };
    },
  };
}

/**
 * Where infra/local/models.sh puts all-MiniLM-L6-v2: `$EMBEDDINGS_MODEL_DIR` when set, else
 * `<repo>/.local/models/all-MiniLM-L6-v2` (the repo root is four levels above this compiled file, dist/src/model.js).
 */
export function defaultModelDir(): string {
  const fromEnv = process.env['EMBEDDINGS_MODEL_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '.local', 'models', 'all-MiniLM-L6-v2');
}
