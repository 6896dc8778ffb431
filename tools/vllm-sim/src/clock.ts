/**
 * Time source for the scheduler. Injected so that specs can drive the engine step by step
 * (see {@link ManualClock}) while production uses the monotonic wall clock and one `setTimeout`.
 */
export interface Clock {
  /** Monotonic time in milliseconds (fractional). */
  now(): number;
  /** Calls `fn` once after `delayMs` milliseconds (0 = as soon as possible, after the current tick). */
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export type TimerHandle = { readonly id: unknown };

/** The real clock: `performance.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(fn, delayMs) {
    return { id: setTimeout(fn, Math.max(0, delayMs)) };
  },
  clearTimer(handle) {
    clearTimeout(handle.id as ReturnType<typeof setTimeout>);
  },
};

interface PendingTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A deterministic clock for specs: time only moves when {@link ManualClock.advance} is called,
 * and timers fire in due-time order (ties in creation order).
 */
export class ManualClock implements Clock {
  private current = 0;
  private seq = 0;
  private timers: PendingTimer[] = [];

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const t: PendingTimer = { id: ++this.seq, at: this.current + Math.max(0, delayMs), fn };
    this.timers.push(t);
    return { id: t.id };
  }

  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle.id);
  }

  /** Number of timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due (including ones scheduled while advancing). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: PendingTimer | undefined;
      for (const t of this.timers) {
        if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      }
      if (next === undefined) break;
      const fired = next;
      this.timers = this.timers.filter((t) => t !== fired);
      this.current = Math.max(this.current, fired.at);
      fired.fn();
    }
    this.current = target;
  }

  /** Advances until no timer is pending or `maxMs` elapsed; returns the time advanced. */
  runUntilIdle(maxMs = 1e9): number {
    const start = this.current;
    while (this.timers.length > 0 && this.current - start < maxMs) {
      const nextAt = Math.min(...this.timers.map((t) => t.at));
      this.advance(Math.max(0, nextAt - this.current));
    }
    return this.current - start;
  }
}
