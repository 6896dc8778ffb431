/** What one forward pass returns for its texts, in order. */
export interface BatchResult {
  vectors: Float32Array[];
  tokens: number[];
}

export interface BatcherOptions {
  /** Most texts in one forward pass. */
  maxBatchSize: number;
  /** Most texts waiting (not yet in a forward pass); a request that would exceed it is refused with {@link QueueFullError}. */
  maxQueuedTexts: number;
  /** Called after each forward pass with its size (texts) and duration (ms). */
  onBatch?: (size: number, durationMs: number) => void;
}

/** The batcher's queue cannot take the request now: answer 503 with Retry-After. */
export class QueueFullError extends Error {
  constructor(
    readonly queued: number,
    readonly requested: number,
    readonly limit: number,
  ) {
    super(`embedding queue is full (${queued} texts waiting, ${requested} more requested, limit ${limit}); retry later`);
    this.name = 'QueueFullError';
  }
}

/** The batcher was closed before the request ran. */
export class BatcherClosedError extends Error {
  constructor() {
    super('embeddings server is shutting down');
    this.name = 'BatcherClosedError';
  }
}

interface Job {
  texts: readonly string[];
  /** Texts of this job already handed to a forward pass. */
  taken: number;
  vectors: Float32Array[];
  tokens: number[];
  failed: boolean;
  resolve: (r: BatchResult) => void;
  reject: (e: unknown) => void;
}

/**
 * Runs one forward pass at a time over whatever texts queued while the previous pass ran (up to `maxBatchSize`),
 * taking texts from requests in arrival order and splitting a large request over several passes. Concurrent
 * requests therefore share passes without a fixed wait window, and an idle server runs a lone request at once.
 *
 * Our own code rather than a library: DataLoader-style batchers cut batches on a timer or tick whether or not the
 * model is busy, and none we found bounds the queue for backpressure; this policy is ~60 lines.
 */
export class EmbeddingBatcher {
  private readonly queue: Job[] = [];
  private queued = 0;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly forward: (texts: readonly string[]) => Promise<BatchResult>,
    private readonly options: BatcherOptions,
  ) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1)
      throw new RangeError(`maxBatchSize must be a positive integer, got ${options.maxBatchSize}`);
    if (!Number.isInteger(options.maxQueuedTexts) || options.maxQueuedTexts < 1)
      throw new RangeError(`maxQueuedTexts must be a positive integer, got ${options.maxQueuedTexts}`);
  }

  /** Texts waiting for a forward pass. */
  get queuedTexts(): number {
    return this.queued;
  }

  /**
   * Embeds `texts` (in order) as part of shared forward passes. Rejects with {@link QueueFullError} at once when the
   * queue cannot take them, {@link BatcherClosedError} after {@link close}, or the forward pass's own error.
   */
  submit(texts: readonly string[]): Promise<BatchResult> {
    if (this.closed) return Promise.reject(new BatcherClosedError());
    if (texts.length === 0) return Promise.resolve({ vectors: [], tokens: [] });
    if (this.queued + texts.length > this.options.maxQueuedTexts)
      return Promise.reject(new QueueFullError(this.queued, texts.length, this.options.maxQueuedTexts));
    return new Promise<BatchResult>((resolve, reject) => {
      this.queue.push({ texts, taken: 0, vectors: [], tokens: [], failed: false, resolve, reject });
      this.queued += texts.length;
      this.kick();
    });
  }

  /** Refuses new requests, fails the queued ones with {@link BatcherClosedError}, and waits for the running pass. */
  async close(): Promise<void> {
    this.closed = true;
    // A job wholly inside the running pass still gets its answer; any other job is failed now.
    for (const job of this.queue.splice(0)) {
      if (job.taken < job.texts.length) {
        job.failed = true;
        job.reject(new BatcherClosedError());
      }
    }
    this.queued = 0;
    await this.running;
  }

  private kick(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = this.runOne().finally(() => {
      this.running = undefined;
      this.kick();
    });
  }

  private async runOne(): Promise<void> {
    // Take up to maxBatchSize texts, remembering which job each slice belongs to.
    const parts: { job: Job; from: number; count: number }[] = [];
    const texts: string[] = [];
    for (const job of this.queue) {
      if (texts.length >= this.options.maxBatchSize) break;
      const count = Math.min(job.texts.length - job.taken, this.options.maxBatchSize - texts.length);
      if (count <= 0) continue;
      parts.push({ job, from: job.taken, count });
      texts.push(...job.texts.slice(job.taken, job.taken + count));
      job.taken += count;
    }
    this.queued -= texts.length;
    const started = performance.now();
    let result: BatchResult;
    try {
      result = await this.forward(texts);
      if (result.vectors.length !== texts.length || result.tokens.length !== texts.length)
        throw new Error(`forward pass returned ${result.vectors.length} vectors for ${texts.length} texts`);
    } catch (err) {
      for (const { job } of parts) this.fail(job, err);
      return;
    } finally {
      this.options.onBatch?.(texts.length, performance.now() - started);
    }
    let offset = 0;
    for (const { job, count } of parts) {
      if (!job.failed) {
        job.vectors.push(...result.vectors.slice(offset, offset + count));
        job.tokens.push(...result.tokens.slice(offset, offset + count));
        if (job.vectors.length === job.texts.length) {
          this.remove(job);
          job.resolve({ vectors: job.vectors, tokens: job.tokens });
        }
      }
      offset += count;
    }
  }

  private fail(job: Job, err: unknown): void {
    if (job.failed) return;
    job.failed = true;
    this.queued -= job.texts.length - job.taken;
    job.taken = job.texts.length;
    this.remove(job);
    job.reject(err);
  }

  private remove(job: Job): void {
    const i = this.queue.indexOf(job);
    if (i >= 0) this.queue.splice(i, 1);
  }
}
