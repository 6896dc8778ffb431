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
  /** One padded forward pass: mean pooling over the attention mask, then L2 normalisation. */
  const forward = async (batchTexts: string[]): Promise<{ vectors: Float32Array[]; tokens: number[] }> => {
    const inputs = tokenizer(batchTexts, { padding: true, truncation: true, max_length: maxTokens }) as unknown as {
      attention_mask: Tensor;
    } & Record<string, Tensor>;
    const out = (await model(inputs)) as { last_hidden_state: Tensor };
    const pooled = mean_pooling(out.last_hidden_state, inputs.attention_mask).normalize(2, -1);
    const data = pooled.data as Float32Array;
    const [rows, dims] = pooled.dims as [number, number];
    const vectors: Float32Array[] = [];
    for (let r = 0; r < rows; r++) vectors.push(data.slice(r * dims, (r + 1) * dims));
    const maskData = inputs.attention_mask.data as BigInt64Array | Int32Array | Float32Array;
    const seqLen = (inputs.attention_mask.dims as number[])[1] ?? 0;
    const tokens: number[] = [];
    for (let r = 0; r < rows; r++) {
      let n = 0;
      for (let c = 0; c < seqLen; c++) n += Number(maskData[r * seqLen + c]);
      tokens.push(n);
    }
    return { vectors, tokens };
  };
  return {
    name: options.name ?? id,
    dimensions: hidden,
    maxTokens,
    async embed(texts) {
      if (texts.length === 0) return { vectors: [], tokens: [] };
      const vectors: Float32Array[] = new Array<Float32Array>(texts.length);
      const tokens: number[] = new Array<number>(texts.length);
      const lengths = texts.map((t) => Math.min(maxTokens, tokenizer.encode(t).length));
      for (const group of lengthGroups(lengths)) {
        const batch = await forward(group.map((i) => texts[i]!));
        group.forEach((i, k) => {
          vectors[i] = batch.vectors[k]!;
          tokens[i] = batch.tokens[k]!;
        });
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

/**
 * Splits texts into forward passes of similar token length: every text in a padded batch costs as much as the
 * longest one, so a batch of SQuAD paragraphs (80–256 tokens) padded to 256 did about twice the work of its real
 * tokens, and measured slower than one text per pass. Indices are sorted by length and grouped greedily while the
 * padded size (longest × count) stays within `maxPadding` (default 1.25) of the real tokens. Returns groups of input
 * indices; every index appears once.
 */
export function lengthGroups(lengths: readonly number[], maxPadding = 1.25): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]!);
  const groups: number[][] = [];
  let group: number[] = [];
  let real = 0;
  for (const i of order) {
    const len = lengths[i]!;
    if (group.length > 0 && len * (group.length + 1) > maxPadding * (real + len)) {
      groups.push(group);
      group = [];
      real = 0;
    }
    group.push(i);
    real += len;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
