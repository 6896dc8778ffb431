/**
 * Pure computations of the chaos figures from what the platform recorded (no I/O, unit-tested).
 */

/** Final job states of the OpenAI Batch lifecycle the platform follows. */
export const FINAL_STATES = new Set(['completed', 'failed', 'expired', 'cancelled']);

/**
 * Seconds from the end of a fault until throughput is back to `ratio` (default 0.9) of what it was before.
 *
 * Throughput is completions per second, from `completedAtMs` (epoch ms of each completion). The baseline is the mean
 * rate over [baselineFromMs, faultStartMs). Recovery is the first instant t >= faultEndMs (stepping `stepMs`,
 * default 1000) at which the rate over the window [t, t + windowMs) (default 5 s) reaches ratio x baseline;
 * 0 when the rate never dropped below it. The window is a moving average, so one slow second does not count as a
 * relapse and one burst does not count as a recovery.
 * @returns seconds (a multiple of stepMs / 1000), or null when the throughput had not recovered by `untilMs`, or
 * when there was no baseline (no completion before the fault).
 */
export function recoverySeconds(
  completedAtMs: readonly number[],
  p: { baselineFromMs: number; faultStartMs: number; faultEndMs: number; untilMs: number; ratio?: number; windowMs?: number; stepMs?: number },
): number | null {
  const ratio = p.ratio ?? 0.9;
  const windowMs = p.windowMs ?? 5000;
  const stepMs = p.stepMs ?? 1000;
  const baselineSpan = p.faultStartMs - p.baselineFromMs;
  if (baselineSpan <= 0) return null;
  const before = completedAtMs.filter((t) => t >= p.baselineFromMs && t < p.faultStartMs).length;
  if (before === 0) return null;
  const baselinePerMs = before / baselineSpan;
  const sorted = [...completedAtMs].sort((a, b) => a - b);
  const countIn = (from: number, to: number) => lowerBound(sorted, to) - lowerBound(sorted, from);
  for (let t = p.faultEndMs; t + windowMs <= p.untilMs; t += stepMs) {
    if (countIn(t, t + windowMs) >= ratio * baselinePerMs * windowMs) return (t - p.faultEndMs) / 1000;
  }
  return null;
}

function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One submitted job as the platform's jobs table has it at the end of a scenario. */
export interface JobRow {
  jobId: string;
  state: string;
  error: { code?: unknown; message?: unknown } | null;
}

export interface JobTally {
  submitted: number;
  final: number;
  completed: number;
  /** failed, expired or cancelled with an error code and message. */
  failed_with_reason: number;
  /** failed, expired or cancelled without a code or message: a bug of its own. */
  failed_without_reason: number;
  /** Submitted (accepted with 202) and not final in the jobs table at the end of the wait; includes `missing`. */
  lost: number;
  /** Accepted with 202 but absent from the jobs table. */
  missing: number;
  by_state: Record<string, number>;
  /** Reasons of the failed jobs: error code -> count. */
  failure_codes: Record<string, number>;
}

/** Tallies the final states of `submitted` job ids against the rows read back from the jobs table. */
export function tallyJobs(submitted: readonly string[], rows: readonly JobRow[]): JobTally {
  const byId = new Map(rows.map((r) => [r.jobId, r]));
  const t: JobTally = {
    submitted: submitted.length,
    final: 0,
    completed: 0,
    failed_with_reason: 0,
    failed_without_reason: 0,
    lost: 0,
    missing: 0,
    by_state: {},
    failure_codes: {},
  };
  for (const id of submitted) {
    const row = byId.get(id);
    const state = row?.state ?? 'missing';
    t.by_state[state] = (t.by_state[state] ?? 0) + 1;
    if (!row) {
      t.missing++;
      t.lost++;
      continue;
    }
    if (!FINAL_STATES.has(row.state)) {
      t.lost++;
      continue;
    }
    t.final++;
    if (row.state === 'completed') {
      t.completed++;
      continue;
    }
    const code = typeof row.error?.code === 'string' ? row.error.code : '';
    const message = typeof row.error?.message === 'string' ? row.error.message : '';
    if (code && message) {
      t.failed_with_reason++;
      t.failure_codes[code] = (t.failure_codes[code] ?? 0) + 1;
    } else t.failed_without_reason++;
  }
  return t;
}

/**
 * Jobs counted more than once by any of the platform's records: distinct completion events, distinct judged
 * events (both by event id, so a redelivered record of the same event is not a duplicate: consumers deduplicate on
 * event_id) and COMPLETION rows in the cost ledger.
 */
export function duplicatedJobs(
  submitted: readonly string[],
  counts: { completions: ReadonlyMap<string, number>; judged: ReadonlyMap<string, number>; ledgerRows: ReadonlyMap<string, number> },
): { duplicated: number; by_record: { completions: number; judged: number; ledger_rows: number }; examples: string[] } {
  const dup = new Set<string>();
  const by = { completions: 0, judged: 0, ledger_rows: 0 };
  for (const id of submitted) {
    const flags = {
      completions: (counts.completions.get(id) ?? 0) > 1,
      judged: (counts.judged.get(id) ?? 0) > 1,
      ledger_rows: (counts.ledgerRows.get(id) ?? 0) > 1,
    };
    for (const k of ['completions', 'judged', 'ledger_rows'] as const) if (flags[k]) by[k]++;
    if (flags.completions || flags.judged || flags.ledger_rows) dup.add(id);
  }
  return { duplicated: dup.size, by_record: by, examples: [...dup].slice(0, 5) };
}
