import { Injectable } from '@nestjs/common';
import type { Tier } from '@llmgov/contracts';

/** Time constant of the EWMAs, ms: a change in the service rate shows after about this long. */
export const SERVICE_RATE_TAU_MS = 10_000;

/** One tier's service rate and time as this instance measured them. */
export interface ServiceRateSample {
  /** Completions per second, EWMA over busy intervals; null before the first completion. */
  ratePerS: number | null;
  /** EWMA of the end-to-end call time of completions, ms; null before the first. */
  serviceMs: number | null;
}

interface TierState {
  completedSinceSample: number;
  ratePerS: number | null;
  serviceMs: number | null;
}

/**
 * Measures each tier's service rate (μ, completions per second) and service time for the capacity gate. Completions
 * are counted as they happen (`record`); `sample` closes an interval and folds its rate into an exponentially weighted
 * moving average with weight 1 − exp(−Δt / τ), τ = {@link SERVICE_RATE_TAU_MS} (the time-aware EWMA, as in Unix load
 * averages), so the result does not depend on how regularly it is sampled. Intervals in which the tier was idle (no
 * completion and nothing in flight) are skipped: the service rate is what the tier does when it has work, and an idle
 * tier that decayed to 0 would make the first request of a burst look infinitely far from service. The service time is
 * an EWMA over completions with the same τ in completions (α = 1 − exp(−1 / 10)).
 *
 * Our own rather than a library: a dozen lines, and the npm EWMA packages sample on their own timers.
 */
@Injectable()
export class ServiceRateTracker {
  private readonly tiers = new Map<Tier, TierState>();

  private state(tier: Tier): TierState {
    let s = this.tiers.get(tier);
    if (!s) {
      s = { completedSinceSample: 0, ratePerS: null, serviceMs: null };
      this.tiers.set(tier, s);
    }
    return s;
  }

  /** Counts one completion of `tier` that took `e2eMs` (call sent → last token). */
  record(tier: Tier, e2eMs: number): void {
    const s = this.state(tier);
    s.completedSinceSample++;
    if (Number.isFinite(e2eMs) && e2eMs >= 0) s.serviceMs = s.serviceMs === null ? e2eMs : s.serviceMs + (1 - Math.exp(-1 / 10)) * (e2eMs - s.serviceMs);
  }

  /**
   * Closes the interval of `elapsedMs` since the previous sample and returns the tier's figures.
   * @param busy whether the tier had work in flight at the end of the interval.
   */
  sample(tier: Tier, elapsedMs: number, busy: boolean): ServiceRateSample {
    const s = this.state(tier);
    const n = s.completedSinceSample;
    s.completedSinceSample = 0;
    if (elapsedMs > 0 && (n > 0 || (busy && s.ratePerS !== null))) {
      const observed = (n * 1000) / elapsedMs;
      s.ratePerS = s.ratePerS === null ? observed : s.ratePerS + (1 - Math.exp(-elapsedMs / SERVICE_RATE_TAU_MS)) * (observed - s.ratePerS);
    }
    return { ratePerS: s.ratePerS, serviceMs: s.serviceMs };
  }
}
