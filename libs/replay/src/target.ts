import { ReplayInputError } from './errors.js';
import { ReplayHeaders } from './headers.js';

/** A record as read from the source topic (raw bytes: the replay republishes exactly what was written). */
export interface SourceRecord {
  partition: number;
  offset: bigint;
  /** Broker timestamp, epoch ms. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Headers as strings (first value of a repeated header). */
  headers: Record<string, string>;
}

/** A record to publish. */
export interface OutRecord {
  topic: string;
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Facts the replay gives a target about each matching record. */
export interface TargetContext {
  replayId: string;
  topic: string;
  /** The decoded value (Avro, through the registry). */
  value: unknown;
  /** The original event id: the record's `origin.event.id` header when it is itself a copy, else its envelope `event_id`. */
  originEventId: string;
  /** Encodes a value for the topic with its registered schema (Confluent wire format). */
  encode(value: unknown): Promise<Buffer>;
}

/**
 * Where a replay sends what it reads: the pluggable mode of `llmgov replay --target`. `reprocess` (built) republishes to
 * the same topic so the live consumers run the record again, deduplicating their effects by the original event id;
 * `shadow:<version>` (issue 12 §5) is meant to plug in here with its own `toRecord` (the same records, marked with a
 * version, re-run without affecting users) and a `version`, which consumers fold into their dedupe key
 * (`effectKey`), so the effects run once more under that version.
 */
export interface ReplayTarget {
  /** As written in `--target` (`reprocess`, `shadow:v2`). */
  readonly name: string;
  /** The version the effects are re-run under; undefined: effects already done stay done. */
  readonly version?: string;
  /** The record to publish for a matching source record, or null to leave it out. */
  toRecord(source: SourceRecord, ctx: TargetContext): Promise<OutRecord | null>;
}

/** The headers every republished record carries beside its original ones. */
export function replayHeaders(source: SourceRecord, ctx: TargetContext, target: ReplayTarget): Record<string, string> {
  const headers: Record<string, string> = {
    ...source.headers,
    [ReplayHeaders.replayId]: ctx.replayId,
    [ReplayHeaders.originEventId]: ctx.originEventId,
    [ReplayHeaders.originPosition]: `${source.partition}:${source.offset}`,
    [ReplayHeaders.target]: target.name,
  };
  if (target.version) headers[ReplayHeaders.version] = target.version;
  else delete headers[ReplayHeaders.version];
  return headers;
}

/** The feature replay spend is billed as (the `feature` of usage events and cost-ledger rows). */
export const REPLAY_FEATURE = 'replay';

/** The metadata entry that keeps a request's own feature when a replay bills it as {@link REPLAY_FEATURE}. */
export const ORIGINAL_FEATURE_METADATA = 'replay.original_feature';

/**
 * The value a replay republishes: for inference requests (records with a `prompt` and a `feature`), `feature` becomes
 * {@link REPLAY_FEATURE}, so whatever the re-run spends is reserved through the router's budget reservations like live
 * traffic (same tenant, team and route budgets) and billed in the ledger as the tenant's `replay` feature; the
 * original feature is kept in `metadata` where the record has one. Other values are returned unchanged (null).
 * The envelope (event_id included) is never changed: consumers deduplicate by it.
 */
export function asReplayValue(value: unknown): Record<string, unknown> | null {
  // Only requests cause spend (a usage record is a bill already made: it keeps its feature).
  if (value === null || typeof value !== 'object' || !('feature' in value) || !('prompt' in value)) return null;
  const v = value as Record<string, unknown>;
  if (v.feature === REPLAY_FEATURE) return null;
  const out: Record<string, unknown> = { ...v, feature: REPLAY_FEATURE };
  if (v.metadata !== null && typeof v.metadata === 'object' && typeof v.feature === 'string')
    out.metadata = { ...(v.metadata as Record<string, string>), [ORIGINAL_FEATURE_METADATA]: v.feature };
  return out;
}

/**
 * The reprocess target: the record goes back to its own topic and partition (so per-key order is kept) with its key
 * unchanged and its value unchanged but for the replay feature ({@link asReplayValue}), plus the replay headers.
 */
export const reprocessTarget: ReplayTarget = {
  name: 'reprocess',
  async toRecord(source, ctx) {
    const changed = asReplayValue(ctx.value);
    const value = changed ? await ctx.encode(changed) : source.value;
    return { topic: ctx.topic, partition: source.partition, key: source.key, value, headers: replayHeaders(source, ctx, reprocessTarget) };
  },
};

/** Registered targets by mode (the part of `--target` before any ':'). Section 5's shadow mode registers here. */
const targets = new Map<string, (arg: string | undefined) => ReplayTarget>([
  [
    'reprocess',
    (arg) => {
      if (arg !== undefined) throw new ReplayInputError('--target reprocess takes no argument', 'invalid_target');
      return reprocessTarget;
    },
  ],
]);

/** Adds a target mode (`shadow`, by issue 12 §5). @throws Error when the mode is already registered. */
export function registerReplayTarget(mode: string, make: (arg: string | undefined) => ReplayTarget): void {
  if (targets.has(mode)) throw new Error(`replay target ${mode} is already registered`);
  targets.set(mode, make);
}

/**
 * The target `--target` names: `mode` or `mode:arg`.
 * @throws ReplayInputError `invalid_target` for an unknown mode, listing the known ones.
 */
export function resolveTarget(spec: string): ReplayTarget {
  const i = spec.indexOf(':');
  const mode = i < 0 ? spec : spec.slice(0, i);
  const arg = i < 0 ? undefined : spec.slice(i + 1);
  const make = targets.get(mode);
  if (!make) throw new ReplayInputError(`unknown --target "${spec.slice(0, 60)}"; known: ${[...targets.keys()].join(', ')}`, 'invalid_target');
  return make(arg);
}
