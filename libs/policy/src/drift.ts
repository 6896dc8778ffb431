import type { DriftSettings, PolicyDocument } from './schema.js';

/**
 * Drift (issue 11 §4, seed 000): the Jensen-Shannon divergence between a reference window and the current window of a
 * categorical distribution (intent mix, binned judge scores, tier mix). Pure; the services feed observations and
 * export the figures as gauges.
 */

/** The defaults of a policy's `drift` section (fields documented in `driftSettingsSchema`). */
export const DRIFT_DEFAULTS: Required<DriftSettings> = { window_s: 600, alert_threshold: 0.1 };

/** The drift settings in force: the policy's `drift` section over the defaults, field by field. */
export function driftSettings(doc: PolicyDocument | undefined): Required<DriftSettings> {
  return {
    window_s: doc?.drift?.window_s ?? DRIFT_DEFAULTS.window_s,
    alert_threshold: doc?.drift?.alert_threshold ?? DRIFT_DEFAULTS.alert_threshold,
  };
}

/**
 * Jensen-Shannon divergence of two distributions given as counts (or weights) per category, in bits (log base 2):
 * JSD(P‖Q) = ½ KL(P‖M) + ½ KL(Q‖M) with M = ½ (P + Q) (Lin 1991, "Divergence measures based on the Shannon entropy").
 * Each side is normalised to sum 1; a category missing on one side counts 0 there. Symmetric, 0 for identical
 * distributions, and bounded by 1 (log2; it would be ln 2 in nats), reached for distributions with disjoint support.
 * @returns NaN when either side has no mass (nothing observed: no divergence can be stated).
 * @throws RangeError on a negative or non-finite count.
 */
export function jsDivergence(p: ReadonlyMap<string, number>, q: ReadonlyMap<string, number>): number {
  const total = (m: ReadonlyMap<string, number>) => {
    let t = 0;
    for (const [k, v] of m) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`count of ${k} must be a finite number ≥ 0, not ${v}`);
      t += v;
    }
    return t;
  };
  const tp = total(p);
  const tq = total(q);
  if (tp === 0 || tq === 0) return Number.NaN;
  let sum = 0;
  for (const k of new Set([...p.keys(), ...q.keys()])) {
    const pk = (p.get(k) ?? 0) / tp;
    const qk = (q.get(k) ?? 0) / tq;
    const mk = (pk + qk) / 2;
    if (pk > 0) sum += 0.5 * pk * Math.log2(pk / mk);
    if (qk > 0) sum += 0.5 * qk * Math.log2(qk / mk);
  }
  // Rounding can leave a value a hair outside [0, 1].
  return Math.min(1, Math.max(0, sum));
}

/** The bin label of a 0..1 score among `bins` equal-width bins (`"0.0-0.1"` ... `"0.9-1.0"` for 10); out-of-range scores are clamped. */
export function scoreBin(score: number, bins = 10): string {
  const i = Math.min(bins - 1, Math.max(0, Math.floor((Number.isFinite(score) ? score : 0) * bins)));
  return `${(i / bins).toFixed(1)}-${((i + 1) / bins).toFixed(1)}`;
}

/**
 * Category observations over time, and the divergence between the reference window [now − 2w, now − w) and the
 * current window [now − w, now). Our own: a timestamped list pruned to two windows; small enough that a library
 * would add more than it saves.
 */
export class DriftWindow {
  private observations: { at: number; category: string }[] = [];

  constructor(private windowMs: number) {}

  setWindow(windowMs: number): void {
    this.windowMs = windowMs;
  }

  observe(category: string, at: number): void {
    this.observations.push({ category, at });
  }

  /** The counts per category of the reference and the current window ending at `now` (epoch ms); drops older observations. */
  windows(now: number): { reference: Map<string, number>; current: Map<string, number> } {
    this.observations = this.observations.filter((o) => o.at > now - 2 * this.windowMs);
    const reference = new Map<string, number>();
    const current = new Map<string, number>();
    for (const o of this.observations) {
      const m = o.at > now - this.windowMs ? current : reference;
      m.set(o.category, (m.get(o.category) ?? 0) + 1);
    }
    return { reference, current };
  }

  /** JS divergence (bits, 0..1) between the reference and the current window; NaN while either is empty. */
  divergence(now: number): number {
    const { reference, current } = this.windows(now);
    return jsDivergence(reference, current);
  }
}
