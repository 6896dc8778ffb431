import { z } from 'zod';
import { TIERS, type PolicyTier } from './schema.js';
import type { TierCapacitySignal } from './decision.js';

/**
 * The capacity gate's signals (issue 10, section 5): what each inference-worker instance publishes per tier every
 * second, and the router's estimate of a new request's queue wait in a tier from them. Pure code; the Redis side is
 * `TierCapacityStore` in @llmgov/persistence, the publisher the inference worker's CapacityPublisher.
 */

/** One inference-worker instance's report of one tier (units in the field names: ms, records, per second). */
export const tierCapacityReportSchema = z.strictObject({
  tier: z.enum(TIERS),
  /** The publishing worker instance (`host:pid:random`). */
  instance: z.string().min(1).max(256),
  /** The pool's saturation, 0..1 (ADR 0003: the value whose watermarks pause and resume the tier's consumer). */
  saturation: z.number().min(0).max(1),
  /** Whether this instance has the tier's routed topic paused (saturation reached the high watermark). */
  paused: z.boolean(),
  /**
   * Consumer lag of the tier's consumer group on its routed topic, records: Σ over partitions of (end offset − committed
   * offset). Records in flight and completed-but-not-yet-committed count too. Null when the broker could not be asked.
   */
  lag: z.number().int().min(0).nullable(),
  /**
   * Completions per second of this instance on the tier: an EWMA (time constant 10 s) of completions per publish
   * interval, updated only in intervals where the tier was busy (work in flight or completed), so an idle tier keeps its
   * last service rate instead of decaying to 0. Null before the first completion.
   */
  service_rate_per_s: z.number().min(0).nullable(),
  /** EWMA of the end-to-end call time (call sent → last token) of this instance's completions, ms; null before the first. */
  service_ms: z.number().min(0).nullable(),
  /** In-flight slots of the tier's pool in this instance (the pool's `max_inflight`). */
  slots: z.number().int().min(0),
  /** Records of the tier in flight in this instance now. */
  inflight: z.number().int().min(0),
  /** When the report was made, epoch ms (the worker's clock). */
  published_at: z.number().int().min(0),
});
export type TierCapacityReport = z.output<typeof tierCapacityReportSchema>;

/** How {@link estimateTierCapacity} arrived at `queueWaitMs`. */
export type QueueWaitBasis =
  /** A slot is free and the tier is not paused: the request starts at once (wait 0). */
  | 'free_slot'
  /** (records ahead) / (service rate): the measured rate. */
  | 'lag_over_rate'
  /** (records ahead) / (slots / service time): no measured rate yet, the rate implied by the slots and the service time. */
  | 'lag_over_slots_per_service_time'
  /** Paused with records ahead and neither a rate nor a service time: no evidence the backlog moves, wait = Infinity. */
  | 'paused_without_rate'
  /** Not paused, records ahead, but neither a rate nor a service time yet: unknown, taken as 0 (the tier is assumed to have room). */
  | 'unknown_rate';

/** The router's view of one tier, aggregated over the live worker instances that report it. */
export interface TierCapacityEstimate {
  tier: PolicyTier;
  /** Instances whose reports were fresh. */
  instances: number;
  /** Largest saturation reported, 0..1. */
  saturation: number;
  /** True when any instance has the tier paused. */
  paused: boolean;
  /** The group's consumer lag, records (the largest reported: every instance reports the same group); null when none knew it. */
  lag: number | null;
  /** In-flight slots, summed over instances. */
  slots: number;
  /** Summed service rate of the instances, completions per second; null when none measured one yet. */
  serviceRatePerS: number | null;
  /** Service time, ms: the rate-weighted mean of the instances' (plain mean when no rates); null when none measured one. */
  serviceMs: number | null;
  /** Records a new request would wait for before it starts (see {@link estimateTierCapacity}). */
  recordsAhead: number;
  /** Expected wait before a new request starts on the tier, ms; Infinity when the backlog shows no sign of moving. */
  queueWaitMs: number;
  basis: QueueWaitBasis;
  /** Age of the oldest fresh report, ms. */
  ageMs: number;
}

/** Reports older than this are ignored by default, ms: three missed one-second publications and a margin. */
export const DEFAULT_CAPACITY_STALE_MS = 5_000;

/**
 * Aggregates one tier's worker reports and estimates the queue wait of a request routed to it now.
 *
 * Only reports of `tier` at most `staleAfterMs` old (by `published_at` against `now`) count; with none the tier has no
 * signal and the result is undefined (decide() then assumes room: no worker reporting is not evidence of a queue, and
 * a tier served by workers that predate this signal keeps working). Then, with L the group's consumer lag, C the
 * summed slots, μ the summed service rate (completions/s) and S the service time (ms):
 *
 *     recordsAhead = L + 1            when the tier is paused (nothing is fetched until it resumes)
 *                  = max(0, L + 1 − C) otherwise (records in flight hold slots; the request takes the next free one)
 *     queueWaitMs  = 0                                  when recordsAhead = 0
 *                  = 1000 · recordsAhead / μ            with a measured rate (Little's law, W = L / λ, with the
 *                                                       records ahead as the queue and the service rate as λ)
 *                  = recordsAhead · S / C               no rate yet but a service time: C slots each finishing one
 *                                                       record per S ms serve C / S records per ms
 *                  = Infinity                           paused, with neither (capacity exhausted, no evidence of progress)
 *                  = 0                                  not paused, with neither (unknown: assume room)
 *
 * An unknown lag (the broker could not be asked) counts as 0. The estimate uses means, not p95s: it is compared with a
 * p95 budget, so it errs on the side of routing to the requested tier.
 */
export function estimateTierCapacity(
  tier: PolicyTier,
  reports: readonly TierCapacityReport[],
  now: number,
  staleAfterMs: number = DEFAULT_CAPACITY_STALE_MS,
): TierCapacityEstimate | undefined {
  const fresh = reports.filter((r) => r.tier === tier && now - r.published_at <= staleAfterMs);
  if (fresh.length === 0) return undefined;
  const lags = fresh.map((r) => r.lag).filter((l): l is number => l !== null);
  const lag = lags.length > 0 ? Math.max(...lags) : null;
  const paused = fresh.some((r) => r.paused);
  const slots = fresh.reduce((s, r) => s + r.slots, 0);
  const rated = fresh.filter((r) => r.service_rate_per_s !== null && r.service_rate_per_s > 0);
  const rate = rated.length > 0 ? rated.reduce((s, r) => s + r.service_rate_per_s!, 0) : null;
  const timed = fresh.filter((r) => r.service_ms !== null);
  let serviceMs: number | null = null;
  if (timed.length > 0) {
    const weights = timed.map((r) => r.service_rate_per_s ?? 0);
    const total = weights.reduce((a, b) => a + b, 0);
    serviceMs = total > 0 ? timed.reduce((s, r, i) => s + r.service_ms! * weights[i]!, 0) / total : timed.reduce((s, r) => s + r.service_ms!, 0) / timed.length;
  }
  const backlog = lag ?? 0;
  const recordsAhead = paused ? backlog + 1 : Math.max(0, backlog + 1 - slots);
  let queueWaitMs: number;
  let basis: QueueWaitBasis;
  if (recordsAhead === 0) {
    queueWaitMs = 0;
    basis = 'free_slot';
  } else if (rate !== null) {
    queueWaitMs = (1000 * recordsAhead) / rate;
    basis = 'lag_over_rate';
  } else if (serviceMs !== null && slots > 0) {
    queueWaitMs = (recordsAhead * serviceMs) / slots;
    basis = 'lag_over_slots_per_service_time';
  } else if (paused) {
    queueWaitMs = Infinity;
    basis = 'paused_without_rate';
  } else {
    queueWaitMs = 0;
    basis = 'unknown_rate';
  }
  return {
    tier,
    instances: fresh.length,
    saturation: Math.max(...fresh.map((r) => r.saturation)),
    paused,
    lag,
    slots,
    serviceRatePerS: rate,
    serviceMs,
    recordsAhead,
    queueWaitMs,
    basis,
    ageMs: Math.max(...fresh.map((r) => now - r.published_at)),
  };
}

/**
 * decide()'s `signals.capacity` from the tiers' reports: per tier with a fresh signal, `{ queueWaitMs, serviceMs }`
 * (service time 0 when none was measured yet); tiers without one are left out (assumed to have room).
 */
export function capacitySignals(
  reports: readonly TierCapacityReport[],
  now: number,
  staleAfterMs: number = DEFAULT_CAPACITY_STALE_MS,
): Partial<Record<PolicyTier, TierCapacitySignal>> {
  const out: Partial<Record<PolicyTier, TierCapacitySignal>> = {};
  for (const tier of TIERS) {
    const e = estimateTierCapacity(tier, reports, now, staleAfterMs);
    if (e) out[tier] = { queueWaitMs: e.queueWaitMs, serviceMs: e.serviceMs ?? 0 };
  }
  return out;
}
