/**
 * Tracks in-flight offsets of one partition and yields the highest offset that is safe to commit:
 * the end of the longest contiguous run of completed offsets starting at the oldest begun offset
 * (the Confluent Parallel Consumer's rule). Records may complete out of order; a record that never
 * completes holds the commit point back, so it is redelivered after a restart or rebalance.
 * Offsets are bigint because Kafka offsets are int64.
 */
export class OffsetTracker {
  private readonly pending = new Set<bigint>();
  private readonly done = new Set<bigint>();
  private readonly order: bigint[] = [];
  private committable: bigint | undefined;
  private lastBegun: bigint | undefined;

  /** Registers an offset as in flight. Offsets must be begun in increasing order. */
  begin(offset: bigint): void {
    if (this.lastBegun !== undefined && offset <= this.lastBegun) throw new Error(`offset ${offset} begun after ${this.lastBegun}`);
    this.lastBegun = offset;
    this.pending.add(offset);
    this.order.push(offset);
  }

  /** True when `offset` was already begun here (in flight or completed): a redelivery after a rebalance. */
  seen(offset: bigint): boolean {
    return this.lastBegun !== undefined && offset <= this.lastBegun;
  }

  /** Marks an offset as finished (handled or dead-lettered). */
  complete(offset: bigint): void {
    if (!this.pending.delete(offset)) return;
    this.done.add(offset);
    while (this.order.length > 0) {
      const head = this.order[0]!;
      if (!this.done.has(head)) break;
      this.done.delete(head);
      this.order.shift();
      this.committable = head;
    }
  }

  /**
   * The offset to pass to a Kafka commit (last contiguous completed + 1), or undefined when nothing new
   * completed since the last successful `markCommitted`.
   */
  nextCommitOffset(): bigint | undefined {
    return this.committable === undefined ? undefined : this.committable + 1n;
  }

  /** Records that `next` (a value from nextCommitOffset) was committed; later completions stay pending. */
  markCommitted(next: bigint): void {
    if (this.committable !== undefined && this.committable + 1n <= next) this.committable = undefined;
  }

  /** Records begun but not yet contiguous-completed. */
  get inFlight(): number {
    return this.order.length;
  }
}
