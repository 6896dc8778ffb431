/** A sparse vector: parallel arrays, `indices` strictly ascending and unique. */
export interface SparseVector {
  indices: number[];
  values: number[];
}

export interface EmbeddingsResult {
  /** One vector per input text, in input order. */
  vectors: Float32Array[] | number[][];
  /** Model that produced the vectors (as reported by the server for remote models). */
  model: string;
  /** Version of the model; together with `model` and `dimensions` it identifies the vector space. */
  modelVersion: string;
  dimensions: number;
  usage: { prompt_tokens: number };
}

export interface EmbedOptions {
  /** Cancels the request (remote clients); the local embedder ignores it. */
  signal?: AbortSignal;
}

export interface EmbeddingsClient {
  embed(texts: string[], options?: EmbedOptions): Promise<EmbeddingsResult>;
}
