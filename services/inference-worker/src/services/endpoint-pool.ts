/**
 * Picks an endpoint of a tier's pool: the one with the fewest requests in flight from this instance,
 * among those below `maxInflight`. `acquire` waits (FIFO) when every endpoint is full; that wait is
 * the worker's backpressure on Kafka consumption.
 */
export class EndpointPool {
  private readonly inflight = new Map<string, number>();
  private readonly waiters: (() => void)[] = [];

  constructor(
    readonly endpoints: string[],
    private readonly maxInflight: number,
  ) {
    for (const e of endpoints) this.inflight.set(e, 0);
  }

  async acquire(): Promise<string> {
    for (;;) {
      let best: string | undefined;
      for (const [e, n] of this.inflight) if (n < this.maxInflight && (best === undefined || n < this.inflight.get(best)!)) best = e;
      if (best !== undefined) {
        this.inflight.set(best, this.inflight.get(best)! + 1);
        return best;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  release(endpoint: string): void {
    const n = this.inflight.get(endpoint);
    if (n === undefined || n === 0) return;
    this.inflight.set(endpoint, n - 1);
    this.waiters.shift()?.();
  }

  /** Requests in flight per endpoint. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.inflight);
  }
}
