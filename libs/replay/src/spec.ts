import { ReplayInputError } from './errors.js';

/** One end of a replay's range: a time (epoch ms; the first record at or after it) or an offset per partition. */
export type Bound = { kind: 'time'; ms: number; text: string } | { kind: 'offsets'; offsets: Map<number, bigint>; text: string };

/** ISO 8601 with a date, a time and an explicit zone (Z or ±hh:mm): no local-time guessing. */
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const EPOCH_MS_RE = /^\d{13}$/;
const OFFSETS_RE = /^\d{1,6}:\d{1,19}(,\d{1,6}:\d{1,19})*$/;
const MAX_OFFSET = 2n ** 63n - 1n;
/** Earliest and latest times accepted (2000-01-01 and 2100-01-01 UTC): anything else is a typo. */
const MIN_MS = Date.UTC(2000, 0, 1);
const MAX_MS = Date.UTC(2100, 0, 1);

/**
 * Parses `--from` / `--to`:
 * - a time: ISO 8601 with a zone (`2026-11-29T13:00:00Z`, `2026-11-29T14:00+01:00`), a UTC date (`2026-11-29`, its
 *   midnight), epoch milliseconds (13 digits), or `now`;
 * - offsets: `partition:offset,...` (`0:120,1:98,2:0`); partitions not named take the topic's own start (for --from)
 *   or end (for --to).
 * @param now the clock for `now`, epoch ms
 * @throws ReplayInputError `invalid_time` or `invalid_offsets` naming what was wrong.
 */
export function parseBound(text: string, now = Date.now()): Bound {
  const t = text.trim();
  if (t === '') throw new ReplayInputError('expected a time (ISO 8601 with a zone, a date, epoch ms or "now") or partition:offset,...', 'invalid_time');
  if (t.includes(':') && /^\d+:/.test(t)) {
    if (!OFFSETS_RE.test(t)) throw new ReplayInputError(`"${t.slice(0, 80)}" is not a list of partition:offset pairs (e.g. 0:120,1:98)`, 'invalid_offsets');
    const offsets = new Map<number, bigint>();
    for (const pair of t.split(',')) {
      const [p, o] = pair.split(':') as [string, string];
      const partition = Number(p);
      const offset = BigInt(o);
      if (offset > MAX_OFFSET) throw new ReplayInputError(`offset ${o} of partition ${p} is beyond the int64 range`, 'invalid_offsets');
      if (offsets.has(partition)) throw new ReplayInputError(`partition ${partition} is named twice`, 'invalid_offsets');
      offsets.set(partition, offset);
    }
    return { kind: 'offsets', offsets, text: t };
  }
  let ms: number;
  if (t === 'now') ms = now;
  else if (EPOCH_MS_RE.test(t)) ms = Number(t);
  else if (DATE_RE.test(t)) ms = Date.parse(`${t}T00:00:00Z`);
  else if (ISO_RE.test(t)) ms = Date.parse(t);
  else
    throw new ReplayInputError(
      `"${t.slice(0, 80)}" is not a time: use ISO 8601 with a zone (2026-11-29T13:00:00Z), a UTC date (2026-11-29), epoch ms (13 digits) or "now"`,
      'invalid_time',
    );
  if (!Number.isFinite(ms)) throw new ReplayInputError(`"${t.slice(0, 80)}" is not a valid calendar time`, 'invalid_time');
  if (ms < MIN_MS || ms > MAX_MS) throw new ReplayInputError(`"${t.slice(0, 80)}" is outside 2000-01-01..2100-01-01`, 'invalid_time');
  // Date.parse rolls 2026-02-31 over to March: refuse dates that do not round-trip.
  const datePart = t.slice(0, 10);
  if ((DATE_RE.test(datePart) && ISO_RE.test(t)) || DATE_RE.test(t)) {
    const [y, m, d] = datePart.split('-').map(Number) as [number, number, number];
    const check = new Date(Date.UTC(y, m - 1, d));
    if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d)
      throw new ReplayInputError(`"${t.slice(0, 80)}" names a day that does not exist`, 'invalid_time');
  }
  return { kind: 'time', ms, text: t };
}

/**
 * Parses `--rate`: records per second, `N` or `N/s` (0 < N <= 100 000).
 * @throws ReplayInputError `invalid_rate`.
 */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(\.\d+)?)\s*(\/s)?\s*$/.exec(text);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!(n > 0 && n <= 100_000))
    throw new ReplayInputError(`"${text.slice(0, 40)}" is not a rate: expected N/s with 0 < N <= 100000 (e.g. 50/s)`, 'invalid_rate');
  return n;
}

/** The offset range to read in one partition: [start, end) (end exclusive, the next offset after the last record). */
export interface PartitionRange {
  partition: number;
  start: bigint;
  end: bigint;
}

/** What the topic holds now, per partition: its low and high watermarks, and per bound the offsets a time resolves to. */
export interface TopicOffsets {
  /** Low watermark (first offset still kept) per partition. */
  low: Map<number, bigint>;
  /** High watermark (next offset to be written) per partition. */
  high: Map<number, bigint>;
}

/**
 * The range per partition from resolved bounds. `start`/`end` map a partition to an offset already resolved from a
 * time (the first offset at or after it; the high watermark when none is); a missing partition takes the low
 * watermark (start) or the high watermark as it was when the replay began (end), so records written while the replay
 * runs (its own republished records included) are never read. Offsets are clamped into [low, high].
 * @throws ReplayInputError `unknown_partition` for an offsets bound naming a partition the topic does not have;
 *         `invalid_range` when a partition's start is after its end.
 */
export function resolveRanges(topic: TopicOffsets, start: Map<number, bigint> | undefined, end: Map<number, bigint> | undefined): PartitionRange[] {
  for (const [name, m] of [
    ['--from', start],
    ['--to', end],
  ] as const)
    for (const p of m?.keys() ?? [])
      if (!topic.high.has(p))
        throw new ReplayInputError(
          `${name} names partition ${p}; the topic has partitions ${[...topic.high.keys()].sort((a, b) => a - b).join(', ')}`,
          'unknown_partition',
        );
  const clamp = (v: bigint, lo: bigint, hi: bigint) => (v < lo ? lo : v > hi ? hi : v);
  const out: PartitionRange[] = [];
  for (const [partition, high] of [...topic.high].sort((a, b) => a[0] - b[0])) {
    const low = topic.low.get(partition) ?? 0n;
    const s = clamp(start?.get(partition) ?? low, low, high);
    const e = clamp(end?.get(partition) ?? high, low, high);
    if (s > e) throw new ReplayInputError(`partition ${partition}: start offset ${s} is after end offset ${e}`, 'invalid_range');
    out.push({ partition, start: s, end: e });
  }
  return out;
}

/**
 * Checks two bounds against each other before any lookup: a time --from after a time --to, or a partition whose --from
 * offset is after its --to offset, is refused.
 * @throws ReplayInputError `invalid_range`.
 */
export function checkBounds(from: Bound | undefined, to: Bound | undefined): void {
  if (!from || !to) return;
  if (from.kind === 'time' && to.kind === 'time' && from.ms > to.ms)
    throw new ReplayInputError(`--from ${from.text} is after --to ${to.text}`, 'invalid_range');
  if (from.kind === 'offsets' && to.kind === 'offsets')
    for (const [p, o] of from.offsets) {
      const e = to.offsets.get(p);
      if (e !== undefined && o > e) throw new ReplayInputError(`partition ${p}: --from offset ${o} is after --to offset ${e}`, 'invalid_range');
    }
}
