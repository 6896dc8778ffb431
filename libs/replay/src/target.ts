import { ReplayInputError } from './errors.js';
import { randomUUID } from 'node:crypto';
import { ReplayHeaders, SHADOW_TARGET_PREFIX } from './headers.js';

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
 * `shadow:<version>` ({@link shadowTarget}, issue 12 §5) republishes validated requests as copies the router decides
 * under that policy version without affecting any user.
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
 * original feature is kept in `metadata` where the record has one. `occurred_at` becomes the replay's time (`now`,
 * epoch ms): a request's latency budget runs from it, and a re-run of a request older than its budget would otherwise
 * be expired by the router before it is routed. Other values are returned unchanged (null). The `event_id` is never
 * changed: consumers deduplicate by it.
 */
export function asReplayValue(value: unknown, now = Date.now()): Record<string, unknown> | null {
  // Only requests cause spend (a usage record is a bill already made: it keeps its feature).
  if (value === null || typeof value !== 'object' || !('feature' in value) || !('prompt' in value)) return null;
  const v = value as Record<string, unknown>;
  const out: Record<string, unknown> = { ...v, occurred_at: now };
  if (v.feature === REPLAY_FEATURE) return out;
  out.feature = REPLAY_FEATURE;
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

/** The request metadata key that pins a request to a policy version (the router's PINNED_POLICY_METADATA_KEY). */
export const POLICY_VERSION_METADATA = 'policy_version';

/** Whether a decoded value is a validated inference request (the record the router decides). */
function isValidatedRequest(v: unknown): v is Record<string, unknown> & { job_id: string; metadata: Record<string, string> | null } {
  if (v === null || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return typeof r.job_id === 'string' && typeof r.prompt === 'string' && typeof r.options === 'object' && 'prompt_hash' in r;
}

/**
 * The shadow target (issue 12 §5): `shadow:<policy version>` re-decides validated inference requests under that
 * version of the router's policy namespace, as copies that never reach a user. Each copy is published to the validated
 * topic with the replay headers (`replay.target` = `shadow:<version>`, `replay.version`) and, in its value, a fresh
 * `event_id` and `occurred_at` (so its latency budget starts now) and metadata `policy_version` = the version (the
 * router's pin). The router runs it as job `shadow:<replay id>:<job id>`: no job status, no budget reservation, no
 * caches, team `shadow`; the judge judges it, the cost-attributor bills it to team `shadow`.
 * Records of other topics, jobs `include` leaves out, and a job's request seen again are not copied.
 * @param include the user job ids to copy (a shadow run's sample); undefined: every matching request.
 * @throws ReplayInputError `invalid_target` when the version is not a positive integer.
 */
export function shadowTarget(versionText: string | undefined, include?: ReadonlySet<string>): ReplayTarget {
  if (versionText === undefined || !/^[1-9][0-9]{0,8}$/.test(versionText))
    throw new ReplayInputError(`--target shadow needs a policy version: shadow:VERSION (got "${String(versionText).slice(0, 40)}")`, 'invalid_target');
  // A job's request read twice (a redelivered duplicate on the topic) is copied once.
  const copied = new Set<string>();
  const target: ReplayTarget = {
    name: `${SHADOW_TARGET_PREFIX}${versionText}`,
    version: versionText,
    async toRecord(source, ctx) {
      const v = ctx.value;
      if (!isValidatedRequest(v) || (include !== undefined && !include.has(v.job_id)) || copied.has(v.job_id)) return null;
      copied.add(v.job_id);
      const copy = {
        ...v,
        event_id: randomUUID(),
        occurred_at: Date.now(),
        metadata: { ...(v.metadata ?? {}), [POLICY_VERSION_METADATA]: versionText },
      };
      return { topic: ctx.topic, partition: source.partition, key: source.key, value: await ctx.encode(copy), headers: replayHeaders(source, ctx, target) };
    },
  };
  return target;
}

/** Registered targets by mode (the part of `--target` before any ':'). */
const targets = new Map<string, (arg: string | undefined) => ReplayTarget>([
  [
    'reprocess',
    (arg) => {
      if (arg !== undefined) throw new ReplayInputError('--target reprocess takes no argument', 'invalid_target');
      return reprocessTarget;
    },
  ],
  ['shadow', (arg) => shadowTarget(arg)],
]);

/** Adds a target mode. @throws Error when the mode is already registered. */
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
