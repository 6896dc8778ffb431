/**
 * Header names a replay writes on every record it republishes. `origin.event.id` is shared with the DLQ redrive
 * (issue 12 §4): consumers deduplicate their effects by it, so a record replayed or redriven has the effects of the
 * original once.
 */
export const ReplayHeaders = {
  /** The replay's id (`rp-...`), also the suffix of its consumer group `llmgov-replay-<id>`. */
  replayId: 'replay.id',
  /** The original record's envelope `event_id` (kept from the first replay when a replayed record is replayed again). */
  originEventId: 'origin.event.id',
  /** `<partition>:<offset>` of the record this one copies, in the topic it was read from. */
  originPosition: 'replay.origin.position',
  /** The target as written in `--target` (`reprocess`, `shadow:<version>`). */
  target: 'replay.target',
  /** Set when a new version is requested: effects are re-run under it instead of deduplicated (see {@link effectKey}). */
  version: 'replay.version',
} as const;

/**
 * The key a consumer deduplicates an effect by: the original event id (`origin.event.id`, else the envelope's
 * `event_id`), and, when the record asks for a new version (`replay.version`), that version too, so the effect runs
 * once more under it and once only.
 * @param headers the record's headers as strings (kafka-runtime's `RecordContext.headers`)
 * @param eventId the envelope's `event_id` of the record
 */
export function effectKey(headers: Readonly<Record<string, string>>, eventId: string): string {
  const origin = headers[ReplayHeaders.originEventId] || eventId;
  const version = headers[ReplayHeaders.version];
  return version ? `${origin}@${version}` : origin;
}

/** True when the record was republished by a replay. */
export function isReplayed(headers: Readonly<Record<string, string>>): boolean {
  return Boolean(headers[ReplayHeaders.replayId]);
}

/** The `replay.target` of a shadow run's copies: `shadow:<policy version>`. */
export const SHADOW_TARGET_PREFIX = 'shadow:';

/**
 * The shadow run a record belongs to, when it is a copy a shadow run published (issue 12 §5): its replay id and the
 * policy version it is to be decided by; undefined for any other record. The router decides such a record as a copy
 * only (job `shadow:<run id>:<job id>`), never as the user's job. The headers are written by `llmgov` alone: the
 * ingest-validator never forwards a producer's headers to the validated topic.
 */
export function shadowRunOfHeaders(headers: Readonly<Record<string, string>>): { runId: string; version: number } | undefined {
  const target = headers[ReplayHeaders.target];
  const runId = headers[ReplayHeaders.replayId];
  if (!target?.startsWith(SHADOW_TARGET_PREFIX) || !runId) return undefined;
  const version = target.slice(SHADOW_TARGET_PREFIX.length);
  return /^[1-9][0-9]{0,8}$/.test(version) ? { runId, version: Number(version) } : undefined;
}
