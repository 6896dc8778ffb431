import type { BreakerConfig } from '../pools/pool-config.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

/** Numeric value of a state for the `inference_breaker_state` gauge. */
export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * Circuit breaker of one endpoint. Closed: opens after `consecutive_failures` failures in a row, or when at least
 * `failure_ratio` of the calls of the last `window_ms` failed (once the window holds `min_requests` calls). Open:
 * refuses calls for `recovery_ms`, then half-opens. Half-open: lets `half_open_probes` calls through; closes when all
 * of them succeed, opens again on the first failure.
 *
 * Our own rather than cockatiel's CircuitBreakerPolicy: cockatiel's breakers take one rule (consecutive *or*
 * sampling, not both) and half-open with a single probe; the platform's policy needs both rules and several probes.
 * Calls report back with `record`; calls that started before the circuit opened are ignored once it is open.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private consecutive = 0;
  private window: { at: number; ok: boolean }[] = [];
  private openedAt = 0;
  private probesStarted = 0;
  private probesSucceeded = 0;

  constructor(
    private readonly cfg: BreakerConfig,
    private readonly now: () => number = Date.now,
  ) {}

  /** Current state; an open circuit past its recovery time reads as half-open. */
  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.cfg.recovery_ms) {
      this.current = 'half_open';
      this.probesStarted = 0;
      this.probesSucceeded = 0;
    }
    return this.current;
  }

  /** Whether a call may start now (half-open: while probes are left). Does not reserve anything. */
  get allows(): boolean {
    const s = this.state;
    return s === 'closed' || (s === 'half_open' && this.probesStarted < this.cfg.half_open_probes);
  }

  /** Registers the start of a call; returns false (and registers nothing) when the circuit refuses it. */
  tryStart(): boolean {
    if (!this.allows) return false;
    if (this.current === 'half_open') this.probesStarted++;
    return true;
  }

  /** Reports how a started call ended. `ok: false` only for endpoint faults (5xx, connection errors, timeouts). */
  record(ok: boolean): void {
    const s = this.state;
    if (s === 'open') return;
    if (s === 'half_open') {
      if (!ok) return this.open();
      this.probesSucceeded++;
      if (this.probesSucceeded >= this.cfg.half_open_probes) this.close();
      return;
    }
    const at = this.now();
    this.window.push({ at, ok });
    while (this.window.length > 0 && at - this.window[0]!.at > this.cfg.window_ms) this.window.shift();
    this.consecutive = ok ? 0 : this.consecutive + 1;
    if (this.consecutive >= this.cfg.consecutive_failures) return this.open();
    if (!ok && this.window.length >= this.cfg.min_requests) {
      const failures = this.window.reduce((n, c) => n + (c.ok ? 0 : 1), 0);
      if (failures / this.window.length >= this.cfg.failure_ratio) this.open();
    }
  }

  private open(): void {
    this.current = 'open';
    this.openedAt = this.now();
    this.window = [];
    this.consecutive = 0;
  }

  private close(): void {
    this.current = 'closed';
    this.window = [];
    this.consecutive = 0;
  }
}
