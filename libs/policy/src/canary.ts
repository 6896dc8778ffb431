import { createHash } from 'node:crypto';
import type { CanarySettings, PolicyDocument } from './schema.js';

/**
 * Canary releases (issue 11 §4): which jobs a canary version decides, and the pure rule by which the canary
 * controller rolls it back. No I/O here: the controller's adapter feeds samples and acts on the verdict.
 */

/** The defaults of a policy's `canary` section (each field documented in `canarySettingsSchema`). */
export const CANARY_DEFAULTS: Required<CanarySettings> = {
  window_s: 300,
  min_samples: 20,
  max_p95_latency_ratio: 1.5,
  max_quality_drop: 0.1,
  max_cost_ratio: 1.5,
};

/** The canary tolerances in force: the canary version's own `canary` section, else the stable version's, else the defaults, field by field. */
export function canarySettings(canary: PolicyDocument, stable?: PolicyDocument): Required<CanarySettings> {
  return { ...CANARY_DEFAULTS, ...stripUndefined(stable?.canary), ...stripUndefined(canary.canary) };
}

const stripUndefined = (o: CanarySettings | undefined): CanarySettings =>
  Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as CanarySettings;

/**
 * The job's bucket in [0, 100): the first 32 bits of SHA-256(job id) scaled to 100. Stable across processes and
 * restarts, so every retry and redelivery of a job lands in the same bucket (and on the same version).
 */
export function canaryBucket(jobId: string): number {
  return (createHash('sha256').update(jobId).digest().readUInt32BE(0) / 2 ** 32) * 100;
}

/** Whether a canary at `percent` (0..100) decides this job: its bucket falls under the percent. */
export function routesToCanary(jobId: string, percent: number): boolean {
  return canaryBucket(jobId) < percent;
}

/** One observation of a job decided by a policy version. Each event contributes what it knows. */
export type CanarySample =
  | { kind: 'latency'; at: number; tenant: string; route: string | null; latencyMs: number }
  | { kind: 'judged'; at: number; tenant: string; route: string | null; pass: boolean; groundedness: number }
  | { kind: 'cost'; at: number; costUsd: number };

/** The statistics of one version over the window (null where it has fewer than min_samples). */
export interface WindowStats {
  latencySamples: number;
  /** p95 end-to-end latency, ms (nearest rank). */
  p95LatencyMs: number | null;
  judgedSamples: number;
  /** Share of judged answers with verdict PASS, 0..1. */
  passRate: number | null;
  /** Mean judge groundedness, 0..1. */
  meanGroundedness: number | null;
  costSamples: number;
  /** Mean cost per completion, USD. */
  meanCostUsd: number | null;
}

/**
 * Samples per policy version over a sliding time window. Our own ~40 lines: the window is a time-bounded list per
 * version with a nearest-rank p95 over at most a few thousand samples; no library offers this shape without pulling a
 * metrics stack in.
 */
export class SlidingWindows {
  private readonly samples = new Map<number, CanarySample[]>();

  constructor(private windowMs: number) {}

  /** Changes the window length, ms. */
  setWindow(windowMs: number): void {
    this.windowMs = windowMs;
  }

  add(version: number, sample: CanarySample): void {
    const list = this.samples.get(version) ?? [];
    list.push(sample);
    this.samples.set(version, list);
  }

  /** Forgets every sample (a new canary starts from an empty window). */
  clear(): void {
    this.samples.clear();
  }

  /** Drops samples older than the window ending at `now` (epoch ms). */
  prune(now: number): void {
    for (const [v, list] of this.samples) {
      const kept = list.filter((s) => s.at > now - this.windowMs);
      if (kept.length === 0) this.samples.delete(v);
      else this.samples.set(v, kept);
    }
  }

  /** The version's samples in the window ending at `now`, optionally of one tenant and route. */
  of(version: number, now: number, scope?: { tenant: string; route: string | null }): CanarySample[] {
    return (this.samples.get(version) ?? []).filter(
      (s) => s.at > now - this.windowMs && (!scope || (s.kind !== 'cost' && s.tenant === scope.tenant && s.route === scope.route)),
    );
  }

  /** The scopes (tenant, route) the version has latency or judged samples for. */
  scopes(version: number, now: number): { tenant: string; route: string | null }[] {
    const seen = new Map<string, { tenant: string; route: string | null }>();
    for (const s of this.of(version, now)) if (s.kind !== 'cost') seen.set(`${s.tenant}\u0000${s.route ?? ''}`, { tenant: s.tenant, route: s.route });
    return [...seen.values()];
  }
}

/** p95 by nearest rank (the ceil(0.95·n)-th smallest value); null for an empty list. */
export function p95(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)]!;
}

/** The statistics of a list of samples; each figure is null below `minSamples` samples of its kind. */
export function windowStats(samples: CanarySample[], minSamples: number): WindowStats {
  const lat = samples.flatMap((s) => (s.kind === 'latency' ? [s.latencyMs] : []));
  const judged = samples.flatMap((s) => (s.kind === 'judged' ? [s] : []));
  const cost = samples.flatMap((s) => (s.kind === 'cost' ? [s.costUsd] : []));
  const enough = (n: number) => n >= minSamples && n > 0;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    latencySamples: lat.length,
    p95LatencyMs: enough(lat.length) ? p95(lat) : null,
    judgedSamples: judged.length,
    passRate: enough(judged.length) ? judged.filter((j) => j.pass).length / judged.length : null,
    meanGroundedness: enough(judged.length) ? mean(judged.map((j) => j.groundedness)) : null,
    costSamples: cost.length,
    meanCostUsd: enough(cost.length) ? mean(cost) : null,
  };
}

/** A route's SLO as the canary rule reads it. */
export interface RouteSlo {
  tenant: string;
  route: string | null;
  p95LatencyMs: number;
  minQuality: number;
}

export interface CanaryEvaluationInput {
  settings: Required<CanarySettings>;
  stable: WindowStats;
  canary: WindowStats;
  /** Per route the canary served: its SLO and both versions' statistics on that route. */
  routes: { slo: RouteSlo; stable: WindowStats; canary: WindowStats }[];
}

export type CanaryVerdict =
  { action: 'keep'; reason: string } | { action: 'rollback'; metric: 'p95_latency' | 'quality' | 'cost' | 'slo_p95_latency' | 'slo_quality'; cause: string };

const fmt = (n: number, digits = 3) => Number(n.toPrecision(digits)).toString();

/**
 * The canary rule. Rolls back when, over the window and with at least `min_samples` samples of the statistic on both
 * versions:
 * - SLO: on some route, the canary's p95 latency is over the route's `p95_latency_ms`, or its mean groundedness under
 *   its `min_quality`, while the stable version's on that route is not (a breach both share is not the canary's doing,
 *   and rolling back would not end it);
 * - tolerance: the canary's p95 latency is above `max_p95_latency_ratio` × stable's, its PASS rate more than
 *   `max_quality_drop` below stable's, or its mean cost per completion above `max_cost_ratio` × stable's.
 * Checks run in that order and the first breach is the cause. Otherwise `keep`, saying what is still short of samples.
 */
export function evaluateCanary(input: CanaryEvaluationInput): CanaryVerdict {
  const { settings: s, stable, canary } = input;
  for (const r of input.routes) {
    const where = `route ${r.slo.tenant}/${r.slo.route ?? '(default)'}`;
    if (
      r.canary.p95LatencyMs !== null &&
      r.stable.p95LatencyMs !== null &&
      r.canary.p95LatencyMs > r.slo.p95LatencyMs &&
      r.stable.p95LatencyMs <= r.slo.p95LatencyMs
    )
      return {
        action: 'rollback',
        metric: 'slo_p95_latency',
        cause: `SLO breach on ${where}: canary p95 latency ${fmt(r.canary.p95LatencyMs)} ms > SLO ${r.slo.p95LatencyMs} ms (stable ${fmt(r.stable.p95LatencyMs)} ms, ${r.canary.latencySamples} samples)`,
      };
    if (
      r.canary.meanGroundedness !== null &&
      r.stable.meanGroundedness !== null &&
      r.canary.meanGroundedness < r.slo.minQuality &&
      r.stable.meanGroundedness >= r.slo.minQuality
    )
      return {
        action: 'rollback',
        metric: 'slo_quality',
        cause: `SLO breach on ${where}: canary mean groundedness ${fmt(r.canary.meanGroundedness)} < min_quality ${r.slo.minQuality} (stable ${fmt(r.stable.meanGroundedness)}, ${r.canary.judgedSamples} samples)`,
      };
  }
  if (canary.p95LatencyMs !== null && stable.p95LatencyMs !== null && canary.p95LatencyMs > s.max_p95_latency_ratio * stable.p95LatencyMs)
    return {
      action: 'rollback',
      metric: 'p95_latency',
      cause: `p95 latency ${fmt(canary.p95LatencyMs)} ms > ${s.max_p95_latency_ratio} × stable ${fmt(stable.p95LatencyMs)} ms (${canary.latencySamples} vs ${stable.latencySamples} samples)`,
    };
  if (canary.passRate !== null && stable.passRate !== null && stable.passRate - canary.passRate > s.max_quality_drop)
    return {
      action: 'rollback',
      metric: 'quality',
      cause: `judge PASS rate ${fmt(canary.passRate)} is ${fmt(stable.passRate - canary.passRate)} below stable ${fmt(stable.passRate)} (max_quality_drop ${s.max_quality_drop}; ${canary.judgedSamples} vs ${stable.judgedSamples} samples)`,
    };
  if (canary.meanCostUsd !== null && stable.meanCostUsd !== null && canary.meanCostUsd > s.max_cost_ratio * stable.meanCostUsd)
    return {
      action: 'rollback',
      metric: 'cost',
      cause: `cost per request ${canary.meanCostUsd.toExponential(3)} USD > ${s.max_cost_ratio} × stable ${stable.meanCostUsd.toExponential(3)} USD (${canary.costSamples} vs ${stable.costSamples} samples)`,
    };
  const short = [
    ['latency', canary.latencySamples, stable.latencySamples],
    ['judged', canary.judgedSamples, stable.judgedSamples],
    ['cost', canary.costSamples, stable.costSamples],
  ]
    .filter(([, c, st]) => (c as number) < s.min_samples || (st as number) < s.min_samples)
    .map(([k, c, st]) => `${k as string} ${c as number}/${st as number}`);
  return { action: 'keep', reason: short.length > 0 ? `within tolerance; short of ${s.min_samples} samples: ${short.join(', ')}` : 'within tolerance' };
}
