import { EmbeddingsError } from './errors.js';
import type { EmbedOptions, EmbeddingsClient, EmbeddingsResult } from './types.js';

export interface OpenAIEmbeddingsClientOptions {
  /** Server root, e.g. `http://vllm-embed:8000` (a trailing `/v1` is accepted too). */
  baseUrl: string;
  model: string;
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string;
  /**
   * Requested output dimensions. When set it is sent as `dimensions` (OpenAI `text-embedding-3-*`,
   * vLLM Matryoshka models) and every returned vector must have this length.
   */
  dimensions?: number;
  /** Texts per request. Default 64. */
  maxBatchSize?: number;
  /** Per-request timeout, covering connect, headers and body. Default 30 000 ms. */
  timeoutMs?: number;
  /**
   * Version reported in results. The OpenAI API has no model version, so by default it is the
   * `model` the server reports; pin it (e.g. a weights revision) when the name does not change.
   */
  modelVersion?: string;
  headers?: Record<string, string>;
  /** Injectable for tests; defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

interface EmbeddingDatum {
  index: number;
  embedding: number[];
}

/**
 * Client for an OpenAI-compatible `POST /v1/embeddings` endpoint (OpenAI, vLLM, Hugging Face TEI).
 *
 * Inputs are split into batches of `maxBatchSize`, sent one after another; results are put back in
 * input order using each datum's `index`. Every failure is an {@link EmbeddingsError}: 5xx, 429,
 * timeouts, network faults and unparseable (truncated) bodies are retriable; other 4xx and bodies
 * of the wrong shape are not. Retrying is the caller's job (the embedder service owns the policy).
 */
export class OpenAIEmbeddingsClient implements EmbeddingsClient {
  private readonly url: string;
  private readonly model: string;
  private readonly maxBatchSize: number;
  private readonly timeoutMs: number;
  private readonly dimensions: number | undefined;
  private readonly modelVersion: string | undefined;
  private readonly headers: Record<string, string>;
  private readonly fetchImpl: typeof fetch;

  constructor(options: OpenAIEmbeddingsClientOptions) {
    const root = options.baseUrl.replace(/\/+$/, '');
    this.url = root.endsWith('/v1') ? `${root}/embeddings` : `${root}/v1/embeddings`;
    this.model = options.model;
    this.maxBatchSize = options.maxBatchSize ?? 64;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.dimensions = options.dimensions;
    this.modelVersion = options.modelVersion;
    if (!Number.isInteger(this.maxBatchSize) || this.maxBatchSize < 1) {
      throw new RangeError(`maxBatchSize must be a positive integer, got ${this.maxBatchSize}`);
    }
    if (!(this.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${this.timeoutMs}`);
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
      ...options.headers,
    };
    this.fetchImpl = options.fetch ?? globalThis.fetch;
  }

  async embed(texts: string[], options: EmbedOptions = {}): Promise<EmbeddingsResult> {
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
      throw new EmbeddingsError('texts must be an array of strings', { code: 'invalid_input', retriable: false });
    }
    const vectors: number[][] = [];
    let promptTokens = 0;
    let servedModel = this.model;
    let dimensions = this.dimensions ?? 0;
    for (let start = 0; start < texts.length; start += this.maxBatchSize) {
      const batch = texts.slice(start, start + this.maxBatchSize);
      const result = await this.embedBatch(batch, options.signal);
      for (const v of result.vectors) {
        if (dimensions === 0) dimensions = v.length;
        if (v.length !== dimensions) {
          throw malformed(`embedding has ${v.length} dimensions, expected ${dimensions}`);
        }
        vectors.push(v);
      }
      promptTokens += result.promptTokens;
      servedModel = result.model;
    }
    return {
      vectors,
      model: servedModel,
      modelVersion: this.modelVersion ?? servedModel,
      dimensions,
      usage: { prompt_tokens: promptTokens },
    };
  }

  private async embedBatch(input: string[], callerSignal: AbortSignal | undefined): Promise<{ vectors: number[][]; promptTokens: number; model: string }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout;
    const body = JSON.stringify({
      model: this.model,
      input,
      ...(this.dimensions === undefined ? {} : { dimensions: this.dimensions }),
    });

    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const res = await this.fetchImpl(this.url, { method: 'POST', headers: this.headers, body, signal });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text(); // the signal also bounds reading the body
    } catch (err) {
      throw this.transportError(err, timeout, callerSignal);
    }

    if (status < 200 || status >= 300) {
      const retriable = status >= 500 || status === 429 || status === 408;
      const retryAfterMs = parseRetryAfter(retryAfter);
      throw new EmbeddingsError(`embeddings request failed with HTTP ${status}: ${snippet(text)}`, {
        code: 'http',
        status,
        retriable,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }

    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      // A 2xx with a body that does not parse is almost always a cut-off response: worth a retry.
      throw new EmbeddingsError(`embeddings response is not valid JSON: ${snippet(text)}`, {
        code: 'malformed_response',
        status,
        retriable: true,
        cause: err,
      });
    }
    return parseEmbeddingsResponse(json, input.length, this.model);
  }

  private transportError(err: unknown, timeout: AbortSignal, callerSignal: AbortSignal | undefined): EmbeddingsError {
    if (callerSignal?.aborted) {
      return new EmbeddingsError('embeddings request aborted by caller', { code: 'aborted', retriable: false, cause: err });
    }
    if (timeout.aborted) {
      return new EmbeddingsError(`embeddings request timed out after ${this.timeoutMs} ms`, {
        code: 'timeout',
        retriable: true,
        cause: err,
      });
    }
    const message = err instanceof Error ? err.message : String(err);
    return new EmbeddingsError(`embeddings request failed: ${message}`, { code: 'network', retriable: true, cause: err });
  }
}

/** Validates an OpenAI embeddings response and returns the vectors in input order. */
export function parseEmbeddingsResponse(json: unknown, expected: number, requestedModel: string): { vectors: number[][]; promptTokens: number; model: string } {
  if (typeof json !== 'object' || json === null) throw malformed('response is not a JSON object');
  const obj = json as Record<string, unknown>;
  if (!Array.isArray(obj['data'])) throw malformed('response has no data array');
  const data = obj['data'] as unknown[];
  if (data.length !== expected) throw malformed(`response has ${data.length} embeddings for ${expected} inputs`);

  const vectors: (number[] | undefined)[] = new Array<number[] | undefined>(expected);
  data.forEach((item, position) => {
    if (typeof item !== 'object' || item === null) throw malformed(`data[${position}] is not an object`);
    const datum = item as Partial<EmbeddingDatum>;
    const index = datum.index ?? position;
    if (!Number.isInteger(index) || index < 0 || index >= expected) throw malformed(`data[${position}].index is out of range`);
    if (vectors[index] !== undefined) throw malformed(`index ${index} appears twice`);
    const embedding = datum.embedding;
    if (!Array.isArray(embedding) || embedding.length === 0 || !embedding.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      // base64-encoded embeddings (`encoding_format: "base64"`) are never requested by this client.
      throw malformed(`data[${position}].embedding is not a non-empty array of finite numbers`);
    }
    vectors[index] = embedding;
  });

  const usage = obj['usage'] as Record<string, unknown> | undefined;
  const promptTokens = typeof usage?.['prompt_tokens'] === 'number' ? usage['prompt_tokens'] : 0;
  const model = typeof obj['model'] === 'string' && obj['model'] !== '' ? obj['model'] : requestedModel;
  return { vectors: vectors as number[][], promptTokens, model };
}

function malformed(message: string): EmbeddingsError {
  return new EmbeddingsError(`malformed embeddings response: ${message}`, { code: 'malformed_response', retriable: false });
}

function snippet(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
