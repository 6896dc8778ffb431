/**
 * A counting limit on records in flight, with a limit that can change at run time (pool reloads).
 * Our own rather than p-limit/p-queue: the consumer must wait for a free slot *before* dispatching a record
 * (so it stops pulling from Kafka), heartbeat while it waits, and run the work detached; queue libraries run
 * functions and offer no "wait for a slot with a timeout" primitive. Kafka flow control is this project's job.
 */
export class InFlightLimiter {
  private used = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`limit must be a positive integer, got ${max}`);
  }

  get inUse(): number {
    return this.used;
  }

  get limit(): number {
    return this.max;
  }

  /** Changes the limit; a higher limit wakes waiters at once, a lower one takes effect as slots are released. */
  setLimit(max: number): void {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`limit must be a positive integer, got ${max}`);
    this.max = max;
    this.wake();
  }

  /** Takes a slot if one is free and nobody waits for one. */
  tryAcquire(): boolean {
    if (this.used >= this.max || this.waiters.length > 0) return false;
    this.used++;
    return true;
  }

  /**
   * Takes a slot, waiting (FIFO) at most `timeoutMs`.
   * @returns true with a slot held, false on timeout (no slot held).
   */
  async acquire(timeoutMs: number): Promise<boolean> {
    if (this.tryAcquire()) return true;
    return new Promise<boolean>((resolve) => {
      const waiter = (): void => {
        clearTimeout(timer);
        this.used++;
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  release(): void {
    if (this.used === 0) return;
    this.used--;
    this.wake();
    if (this.used === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when nothing is in flight. */
  async idle(): Promise<void> {
    if (this.used === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private wake(): void {
    while (this.used < this.max && this.waiters.length > 0) this.waiters.shift()!();
  }
}
