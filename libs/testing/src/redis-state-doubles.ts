/**
 * In-memory doubles of the Redis-backed repositories of @llmgov/persistence, structurally typed (cast them with
 * `as unknown as EffectMarkersRepository` / `JobFlagsRepository`) so this lib does not depend on the adapter.
 */

/** EffectMarkersRepository in memory: `isDone`/`markDone` over a Map of key → value (TTLs ignored). */
export class MemoryEffectMarkers {
  readonly done = new Map<string, string>();

  async isDone(key: string): Promise<boolean> {
    return this.done.has(key);
  }

  async markDone(key: string, value: string): Promise<void> {
    this.done.set(key, value);
  }

  /** Forgets every marker: what a crash before the marker was written looks like to a redelivery. */
  clear(): void {
    this.done.clear();
  }
}

/** JobFlagsRepository in memory: the set of cancelled job ids (TTLs ignored). */
export class MemoryJobFlags {
  readonly cancelled = new Set<string>();

  async isCancelled(jobId: string): Promise<boolean> {
    return this.cancelled.has(jobId);
  }

  async markCancelled(jobId: string): Promise<void> {
    this.cancelled.add(jobId);
  }
}
