import { randomUUID } from 'node:crypto';
import type { IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import Bottleneck from 'bottleneck';
import { Topics } from '@llmgov/contracts';
import { deadLetterCause, errorMessage, isDeadLetterCause, type DeadLetterCause } from '@llmgov/errors';
import type { Logger, PlatformMetrics } from '@llmgov/observability';
import { DlqHeaders, RedriveHeaders, headersToStrings } from './headers.js';
import { dlqTopicFor } from './dead-letter.js';
import { TopicNamespace } from './topic-prefix.js';
import type { AvroSerde } from './serde.js';

/** One record of a DLQ topic with its provenance headers parsed (issue 12 §4). */
export interface DeadLetterRecord {
  /** Catalog name of the DLQ topic, `<source topic>.dlq`. */
  dlqTopic: string;
  partition: number;
  /** Offset in the DLQ topic (decimal int64). */
  offset: string;
  /** Broker timestamp of the DLQ record, epoch ms. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Every header as written: the original record's, plus the `dlq.*` provenance. */
  headers: IHeaders;
  /** Catalog name of the topic the record failed on (`dlq.source.topic`, else the DLQ name without `.dlq`). */
  sourceTopic: string;
  /** `dlq.cause`; for records written before it existed, derived from `dlq.error.code` by the same table. */
  cause: DeadLetterCause;
  errorCode: string;
  errorClass: string;
  errorMessage: string;
  /** Service that dead-lettered it (`dlq.service`). */
  service: string;
  /** `dlq.time` as epoch ms; the broker timestamp when the header is missing or not a time. */
  deadLetteredAt: number;
  /** Times the record was redriven before it dead-lettered (its `redrive.count` header), 0 for none. */
  redriveCount: number;
}

/** A filter over dead letters; every field narrows. Times are epoch ms. */
export interface DeadLetterFilter {
  /** Catalog source topics (or their `.dlq` names); default every catalog topic's DLQ that exists. */
  topics?: readonly string[];
  cause?: DeadLetterCause;
  /** Only records dead-lettered at or after this time (also seeks the read by broker timestamp). */
  since?: number;
  /** Only records dead-lettered at or before this time. */
  before?: number;
  /** Only records this service dead-lettered (`dlq.service`). */
  service?: string;
}

/** A topic, or anything else an operator named, that has no DLQ to read: `code` for the CLI. */
export class DeadLetterTopicError extends Error {
  override readonly name = 'DeadLetterTopicError';
  readonly code = 'unknown_topic';
}

const CATALOG_DLQS: ReadonlySet<string> = new Set(Object.values(Topics).map((t) => dlqTopicFor(t)));

/**
 * Topics whose dead letters end their job: the ingest-validator fails the job of every record dead-lettered on these
 * (its JobDeadLettersService consumes their DLQs), so an automatic redrive would run inference, with its cost, for a
 * job already reported failed. Automatic redrive leaves them; an operator may still redrive them by hand.
 */
export const JOB_ENDING_TOPICS: ReadonlySet<string> = new Set([
  Topics.inferenceSubmitted,
  Topics.inferenceValidated,
  Topics.inferenceRoutedS,
  Topics.inferenceRoutedM,
  Topics.inferenceRoutedL,
  Topics.inferenceCompleted,
]);

/** The DLQ name of a catalog topic or DLQ name; @throws DeadLetterTopicError for anything not in the topic catalog. */
export function dlqOf(topic: string): string {
  const dlq = topic.endsWith('.dlq') ? topic : dlqTopicFor(topic);
  if (!CATALOG_DLQS.has(dlq)) {
    throw new DeadLetterTopicError(`${JSON.stringify(topic.slice(0, 200))} is not a topic of the catalog (known: ${[...Object.values(Topics)].join(', ')})`);
  }
  return dlq;
}

const int = (s: string | undefined, fallback: number): number => (s !== undefined && /^\d{1,9}$/.test(s) ? Number(s) : fallback);

/** Parses one DLQ record's headers. Hostile or missing headers fall back to safe values (cause `bug`, code `unexpected`). Pure. */
export function parseDeadLetter(dlqTopic: string, partition: number, message: KafkaMessage): DeadLetterRecord {
  const h = headersToStrings(message.headers);
  const timestamp = Number(message.timestamp);
  const code = h[DlqHeaders.errorCode] ?? 'unexpected';
  const declared = h[DlqHeaders.cause];
  const at = Date.parse(h[DlqHeaders.time] ?? '');
  const declaredSource = h[DlqHeaders.sourceTopic];
  return {
    dlqTopic,
    partition,
    offset: message.offset,
    timestamp,
    key: message.key,
    value: message.value,
    headers: message.headers ?? {},
    // The DLQ's own name wins over a header that names another topic: a redrive never publishes elsewhere.
    sourceTopic: declaredSource !== undefined && `${declaredSource}.dlq` === dlqTopic ? declaredSource : dlqTopic.slice(0, -'.dlq'.length),
    cause: isDeadLetterCause(declared) ? declared : deadLetterCause(code),
    errorCode: code,
    errorClass: h[DlqHeaders.errorClass] ?? 'unknown',
    errorMessage: h[DlqHeaders.errorMessage] ?? '',
    service: h[DlqHeaders.service] ?? 'unknown',
    deadLetteredAt: Number.isFinite(at) ? at : timestamp,
    redriveCount: int(h[RedriveHeaders.count], 0),
  };
}

/** True when `r` passes `f` (topics are checked by the reader). Pure. */
export function matchesFilter(r: DeadLetterRecord, f: DeadLetterFilter): boolean {
  if (f.cause !== undefined && r.cause !== f.cause) return false;
  if (f.since !== undefined && r.deadLetteredAt < f.since) return false;
  if (f.before !== undefined && r.deadLetteredAt > f.before) return false;
  if (f.service !== undefined && r.service !== f.service) return false;
  return true;
}

/** One line of `llmgov dlq list`: dead letters of one source topic, cause and error code. */
export interface DeadLetterGroup {
  source_topic: string;
  cause: DeadLetterCause;
  error_code: string;
  count: number;
  /** Earliest and latest dead-lettering, ISO 8601. */
  first: string;
  last: string;
  /** Where the latest one is: `llmgov dlq show <dlq_topic> <partition> <offset>`. */
  latest: { dlq_topic: string; partition: number; offset: string };
}

/** Groups dead letters by source topic, cause and error code, sorted by topic, then count (descending). Pure. */
export function groupDeadLetters(records: Iterable<DeadLetterRecord>): DeadLetterGroup[] {
  const groups = new Map<string, DeadLetterGroup & { lastMs: number; firstMs: number }>();
  for (const r of records) {
    const k = JSON.stringify([r.sourceTopic, r.cause, r.errorCode]);
    const g = groups.get(k);
    if (!g) {
      groups.set(k, {
        source_topic: r.sourceTopic,
        cause: r.cause,
        error_code: r.errorCode,
        count: 1,
        first: '',
        last: '',
        firstMs: r.deadLetteredAt,
        lastMs: r.deadLetteredAt,
        latest: { dlq_topic: r.dlqTopic, partition: r.partition, offset: r.offset },
      });
      continue;
    }
    g.count++;
    g.firstMs = Math.min(g.firstMs, r.deadLetteredAt);
    if (r.deadLetteredAt >= g.lastMs) {
      g.lastMs = r.deadLetteredAt;
      g.latest = { dlq_topic: r.dlqTopic, partition: r.partition, offset: r.offset };
    }
  }
  return [...groups.values()]
    .map(({ firstMs, lastMs, ...g }) => ({ ...g, first: new Date(firstMs).toISOString(), last: new Date(lastMs).toISOString() }))
    .sort((a, b) => a.source_topic.localeCompare(b.source_topic) || b.count - a.count || a.cause.localeCompare(b.cause));
}

/** A value as `dlq show` prints it: decoded with the registry, or the raw bytes in base64 with the reason it did not decode. */
export type DecodedDeadLetterValue =
  { decoded: true; schema_id: number; value: unknown } | { decoded: false; reason: string; base64: string | null; bytes: number };

/** Decodes a dead letter's value where the schema allows; never throws (the reason says why not). */
export async function decodeDeadLetterValue(serde: AvroSerde, value: Buffer | null): Promise<DecodedDeadLetterValue> {
  try {
    const decoded = await serde.decode(value);
    return { decoded: true, schema_id: value!.readInt32BE(1), value: decoded };
  } catch (err) {
    return { decoded: false, reason: errorMessage(err), base64: value ? value.toString('base64') : null, bytes: value?.length ?? 0 };
  }
}

/** Options of {@link DeadLetterReader}. */
export interface DeadLetterReaderOptions {
  kafka: Kafka;
  /** Topic namespace (`KAFKA_TOPIC_PREFIX`); default the live platform. */
  namespace?: TopicNamespace;
  /** Gives up a read that has not reached the end offsets after this long, ms. Default 60 000. */
  timeoutMs?: number;
}

/**
 * Reads DLQ topics from their start (or the offset of `since`, by broker timestamp) to the end offsets they had when
 * the read began, with a throwaway consumer group (`<prefix>llmgov.dlq-reader.<uuid>`) that never commits and is
 * deleted afterwards, so no live consumer group is moved or disturbed.
 */
export class DeadLetterReader {
  private readonly ns: TopicNamespace;
  constructor(private readonly opts: DeadLetterReaderOptions) {
    this.ns = opts.namespace ?? new TopicNamespace();
  }

  /**
   * Catalog DLQ names to read: those of `topics` (catalog source topics or DLQ names), else every catalog DLQ
   * that exists on the broker in the namespace.
   * @throws DeadLetterTopicError for a name outside the catalog, or a DLQ that does not exist on the broker.
   */
  async dlqTopics(topics?: readonly string[]): Promise<string[]> {
    const wanted = topics?.map(dlqOf);
    const admin = this.opts.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      if (wanted) {
        const missing = wanted.filter((t) => !existing.has(this.ns.wire(t)));
        if (missing.length > 0) throw new DeadLetterTopicError(`no dead-letter topic ${missing.map((t) => this.ns.wire(t)).join(', ')} on the broker`);
        return [...new Set(wanted)];
      }
      return [...CATALOG_DLQS].filter((t) => existing.has(this.ns.wire(t))).sort();
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * The end offsets of DLQ topics (catalog names), as one comparable string: it changes exactly when a record was
   * written to one of them. One admin request per topic; no consumer group.
   */
  async endOffsets(dlqTopics: readonly string[]): Promise<string> {
    const admin = this.opts.kafka.admin();
    await admin.connect();
    try {
      const parts: string[] = [];
      for (const t of dlqTopics) {
        const offsets = await admin.fetchTopicOffsets(this.ns.wire(t));
        parts.push(
          `${t}:${offsets
            .map((p) => `${p.partition}=${p.high}`)
            .sort()
            .join(',')}`,
        );
      }
      return parts.join(';');
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Calls `onRecord` for every record of the filter's DLQs that matches it, in offset order per partition.
   * @returns the number of DLQ records read (matching or not).
   * @throws DeadLetterTopicError (see dlqTopics); Error when the end offsets were not reached within `timeoutMs`.
   */
  async scan(filter: DeadLetterFilter, onRecord: (r: DeadLetterRecord) => void | Promise<void>): Promise<number> {
    const topics = await this.dlqTopics(filter.topics);
    const admin = this.opts.kafka.admin();
    await admin.connect();
    /** Per wire topic and partition: [first offset to read, end offset (exclusive)]. */
    const ranges = new Map<string, Map<number, [bigint, bigint]>>();
    try {
      for (const t of topics) {
        const wire = this.ns.wire(t);
        const offsets = await admin.fetchTopicOffsets(wire);
        const bySince = filter.since !== undefined ? await admin.fetchTopicOffsetsByTimestamp(wire, filter.since) : [];
        const parts = new Map<number, [bigint, bigint]>();
        for (const p of offsets) {
          const low = BigInt(p.low);
          const high = BigInt(p.high);
          const at = bySince.find((s) => s.partition === p.partition);
          // By broker timestamp the DLQ write is at or after the dead-lettering: the seek never skips a match.
          const start = at && BigInt(at.offset) >= 0n && BigInt(at.offset) > low ? BigInt(at.offset) : low;
          if (start < high) parts.set(p.partition, [start, high]);
        }
        if (parts.size > 0) ranges.set(wire, parts);
      }
    } finally {
      await admin.disconnect();
    }
    if (ranges.size === 0) return 0;

    const groupId = this.ns.wire(`llmgov.dlq-reader.${randomUUID()}`);
    const consumer = this.opts.kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
    let read = 0;
    let pending = [...ranges.values()].reduce((n, m) => n + m.size, 0);
    let failed: unknown;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const timeoutMs = this.opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      failed = new Error(`reading ${[...ranges.keys()].join(', ')} did not reach the end offsets within ${timeoutMs} ms`);
      finish();
    }, timeoutMs);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...ranges.keys()], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, heartbeat }) => {
          const range = ranges.get(batch.topic)?.get(batch.partition);
          if (!range) return;
          const [start, end] = range;
          for (const m of batch.messages) {
            const o = BigInt(m.offset);
            if (o < start || o >= end) continue;
            read++;
            const r = parseDeadLetter(this.ns.logical(batch.topic), batch.partition, m);
            if (matchesFilter(r, filter)) {
              try {
                await onRecord(r);
              } catch (err) {
                failed = err;
                finish();
                return;
              }
            }
          }
          await heartbeat();
          const next = BigInt(batch.lastOffset()) + 1n;
          if (next >= end && ranges.get(batch.topic)?.delete(batch.partition)) {
            if (--pending === 0) finish();
          }
        },
      });
      for (const [topic, parts] of ranges) for (const [partition, [start]] of parts) consumer.seek({ topic, partition, offset: start.toString() });
      await done;
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
      await deleteGroupQuietly(this.opts.kafka, groupId);
    }
    if (failed) throw failed;
    return read;
  }

  /** The record at one DLQ offset, or undefined when there is none (before the start or past the end). */
  async get(dlqTopic: string, partition: number, offset: string): Promise<DeadLetterRecord | undefined> {
    const [topic] = await this.dlqTopics([dlqTopic]);
    let found: DeadLetterRecord | undefined;
    const admin = this.opts.kafka.admin();
    await admin.connect();
    let ends;
    try {
      ends = (await admin.fetchTopicOffsets(this.ns.wire(topic!))).find((p) => p.partition === partition);
    } finally {
      await admin.disconnect();
    }
    if (!ends || BigInt(offset) < BigInt(ends.low) || BigInt(offset) >= BigInt(ends.high)) return undefined;
    await this.scanOne(topic!, partition, BigInt(offset), (r) => (found = r));
    return found;
  }

  private async scanOne(topic: string, partition: number, offset: bigint, onRecord: (r: DeadLetterRecord) => void): Promise<void> {
    const groupId = this.ns.wire(`llmgov.dlq-reader.${randomUUID()}`);
    const consumer = this.opts.kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
    const wire = this.ns.wire(topic);
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const timer = setTimeout(finish, this.opts.timeoutMs ?? 60_000);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [wire], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (batch.partition !== partition) return;
          for (const m of batch.messages) {
            const o = BigInt(m.offset);
            if (o === offset) onRecord(parseDeadLetter(topic, partition, m));
            if (o >= offset) return finish();
          }
          if (BigInt(batch.lastOffset()) >= offset) finish();
        },
      });
      consumer.seek({ topic: wire, partition, offset: offset.toString() });
      await done;
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
      await deleteGroupQuietly(this.opts.kafka, groupId);
    }
  }
}

async function deleteGroupQuietly(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch {
    // A throwaway group that could not be deleted holds no commits; the broker expires it.
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Identifies one dead letter: its DLQ topic, partition and offset (the checkpoint store gets broker topic names, prefix included). */
export interface DeadLetterKey {
  dlqTopic: string;
  partition: number;
  offset: string;
}

/** What a redrive claims before it republishes a dead letter. */
export interface RedriveClaim extends DeadLetterKey {
  redriveId: string;
  sourceTopic: string;
  cause: DeadLetterCause;
  errorCode: string;
  /** The original event id (the value's `event_id`), when the value decodes. */
  eventId: string | null;
}

/** One redrive run: manual (`llmgov dlq redrive`) or automatic (a dependency back and healthy). */
export interface RedriveRun {
  redriveId: string;
  mode: 'manual' | 'automatic';
  actor: string;
  cause: DeadLetterCause;
  /** The filter as given (topics, since, before), for the record. */
  filter: Record<string, unknown>;
  /** Why it ran (automatic: which dependencies, healthy since when). */
  reason: string;
  planned: number;
}

/**
 * The checkpoint of redrives, so that an interrupted redrive resumes and a redrive run twice republishes nothing
 * twice. Implemented in Postgres by `RedriveRepository` of @llmgov/persistence (migration 010); the runtime only
 * states what it needs (it may not import an adapter, ADR 0004).
 */
export interface RedriveCheckpointStore {
  /** Of `keys`, those already republished (by any run), as `dlqTopic/partition/offset`. */
  published(keys: readonly DeadLetterKey[]): Promise<Set<string>>;
  /**
   * Claims a dead letter for this run. True when this run owns it now: it was never claimed, or a claim that never
   * published is stale (its run was interrupted). False when it is published or claimed by a live run.
   */
  claim(c: RedriveClaim): Promise<boolean>;
  /** Records that the claimed dead letter was republished at `partition`/`offset` of its source topic. */
  markPublished(key: DeadLetterKey, redriveId: string, at: { partition: number; offset: string }): Promise<void>;
  startRun(run: RedriveRun): Promise<void>;
  finishRun(redriveId: string, counts: { published: number; skipped: number; failed: number; error: string | null }): Promise<void>;
}

/** `dlqTopic/partition/offset`: the key {@link RedriveCheckpointStore.published} returns. */
export const deadLetterKeyString = (k: DeadLetterKey): string => `${k.dlqTopic}/${k.partition}/${k.offset}`;

/** What a redrive would do (the dry run prints it) and then does. */
export interface RedrivePlan {
  filter: DeadLetterFilter & { cause: DeadLetterCause };
  /** Dead letters matching the filter. */
  matched: number;
  /** Of those, already republished by an earlier run (skipped). */
  alreadyRedriven: number;
  /** Of those, skipped because they were redriven `maxRedrives` times already and failed again. */
  overCap: number;
  /** To republish, in DLQ order. */
  records: DeadLetterRecord[];
  /** Counts of `records` by source topic. */
  bySourceTopic: Record<string, number>;
}

export interface RedriveResult {
  redriveId: string;
  published: number;
  /** Claimed by another live run, or published meanwhile. */
  skipped: number;
  failed: number;
}

/** Options of {@link DeadLetterRedriver}. */
export interface DeadLetterRedriverOptions {
  kafka: Kafka;
  /** A connected producer; the redriver does not own it. */
  producer: Producer;
  checkpoints: RedriveCheckpointStore;
  /** Decodes values to read their `event_id` (the `redrive.event_id` header); without it the header is left out. */
  serde?: AvroSerde;
  namespace?: TopicNamespace;
  logger?: Logger;
  metrics?: PlatformMetrics;
  timeoutMs?: number;
}

/** Headers of a redriven record: the original ones without `dlq.*` and earlier `redrive.*`, plus this redrive's. Pure. */
export function redriveHeaders(r: DeadLetterRecord, redriveId: string, eventId: string | null): IHeaders {
  const out: IHeaders = {};
  for (const [k, v] of Object.entries(r.headers)) {
    if (k.startsWith('dlq.') || k.startsWith('redrive.') || v === undefined) continue;
    out[k] = v;
  }
  out[RedriveHeaders.id] = redriveId;
  out[RedriveHeaders.count] = String(r.redriveCount + 1);
  out[RedriveHeaders.from] = `${r.dlqTopic}/${r.partition}/${r.offset}`;
  if (eventId !== null) out[RedriveHeaders.eventId] = eventId;
  return out;
}

/**
 * Republishes dead letters to their source topic: key, value and headers unchanged except the `dlq.*` provenance,
 * which is replaced by `redrive.*` (see {@link redriveHeaders}). The value keeps its `event_id`, the idempotency key the
 * consumers deduplicate on, so a record redriven twice has one effect. Each republish is claimed in the checkpoint
 * store first and marked published after the broker acknowledged it (acks = all); a run interrupted between the two
 * leaves a stale claim that a later run takes over (at-least-once; the consumers' event-id dedupe makes it one effect).
 * The rate limit is bottleneck's `minTime` (1000 / rate ms between republishes).
 */
export class DeadLetterRedriver {
  private readonly ns: TopicNamespace;
  readonly reader: DeadLetterReader;

  constructor(private readonly opts: DeadLetterRedriverOptions) {
    this.ns = opts.namespace ?? new TopicNamespace();
    this.reader = new DeadLetterReader({ kafka: opts.kafka, namespace: this.ns, timeoutMs: opts.timeoutMs });
  }

  /**
   * What a redrive of `filter` would republish. `maxRedrives`: dead letters redriven that many times already are left
   * (the automatic redrive uses it so a record that keeps failing is not redriven forever).
   * @throws DeadLetterTopicError for unknown topics.
   */
  async plan(filter: DeadLetterFilter & { cause: DeadLetterCause }, maxRedrives = Number.MAX_SAFE_INTEGER): Promise<RedrivePlan> {
    const matched: DeadLetterRecord[] = [];
    await this.reader.scan(filter, (r) => void matched.push(r));
    const done = await this.opts.checkpoints.published(matched.map((r) => this.checkpointKey(r)));
    const fresh = matched.filter((r) => !done.has(deadLetterKeyString(this.checkpointKey(r))));
    const records = fresh.filter((r) => r.redriveCount < maxRedrives);
    const bySourceTopic: Record<string, number> = {};
    for (const r of records) bySourceTopic[r.sourceTopic] = (bySourceTopic[r.sourceTopic] ?? 0) + 1;
    return { filter, matched: matched.length, alreadyRedriven: matched.length - fresh.length, overCap: fresh.length - records.length, records, bySourceTopic };
  }

  /**
   * Republishes the plan's records at most `ratePerSecond` per second, calling `onProgress` after each.
   * @throws the checkpoint store's errors (Postgres down); a failed republish counts as failed and the run goes on.
   */
  async run(
    plan: RedrivePlan,
    opts: { mode: 'manual' | 'automatic'; actor: string; ratePerSecond: number; reason?: string; redriveId?: string; onProgress?: (r: RedriveResult) => void },
  ): Promise<RedriveResult> {
    const redriveId = opts.redriveId ?? randomUUID();
    const result: RedriveResult = { redriveId, published: 0, skipped: 0, failed: 0 };
    await this.opts.checkpoints.startRun({
      redriveId,
      mode: opts.mode,
      actor: opts.actor,
      cause: plan.filter.cause,
      filter: {
        namespace: this.ns.prefix,
        topics: plan.filter.topics ?? null,
        since: plan.filter.since ?? null,
        before: plan.filter.before ?? null,
        service: plan.filter.service ?? null,
      },
      reason: opts.reason ?? '',
      planned: plan.records.length,
    });
    const limiter = new Bottleneck({ maxConcurrent: 1, minTime: Math.ceil(1000 / opts.ratePerSecond) });
    let error: string | null = null;
    try {
      for (const r of plan.records) {
        await limiter.schedule(() => this.redriveOne(r, redriveId, opts.mode, result));
        opts.onProgress?.({ ...result });
      }
    } catch (err) {
      error = errorMessage(err);
      throw err;
    } finally {
      await limiter.stop({ dropWaitingJobs: true }).catch(() => undefined);
      await this.opts.checkpoints
        .finishRun(redriveId, { published: result.published, skipped: result.skipped, failed: result.failed, error })
        .catch(() => undefined);
    }
    return result;
  }

  /**
   * The checkpoint names a dead letter by its broker topic name (namespace prefix included): namespaces (benchmarks,
   * tests) reuse the catalog's DLQ names and offsets, and must not see each other's redrives.
   */
  private checkpointKey(r: DeadLetterKey): DeadLetterKey {
    return { dlqTopic: this.ns.wire(r.dlqTopic), partition: r.partition, offset: r.offset };
  }

  private async eventIdOf(r: DeadLetterRecord): Promise<string | null> {
    if (!this.opts.serde) return null;
    const d = await decodeDeadLetterValue(this.opts.serde, r.value);
    const id = d.decoded ? (d.value as { event_id?: unknown } | null)?.event_id : undefined;
    return typeof id === 'string' ? id : null;
  }

  private async redriveOne(r: DeadLetterRecord, redriveId: string, mode: 'manual' | 'automatic', result: RedriveResult): Promise<void> {
    const eventId = await this.eventIdOf(r);
    const key = this.checkpointKey(r);
    const claimed = await this.opts.checkpoints.claim({ ...r, ...key, sourceTopic: this.ns.wire(r.sourceTopic), redriveId, eventId });
    if (!claimed) {
      result.skipped++;
      return;
    }
    try {
      const [meta] = await this.opts.producer.send({
        topic: this.ns.wire(r.sourceTopic),
        acks: -1,
        messages: [{ key: r.key, value: r.value, headers: redriveHeaders(r, redriveId, eventId) }],
      });
      await this.opts.checkpoints.markPublished(key, redriveId, { partition: meta?.partition ?? -1, offset: meta?.baseOffset ?? '-1' });
      result.published++;
      this.opts.metrics?.deadLettersRedriven.inc({ topic: r.sourceTopic, cause: r.cause, mode });
      this.opts.logger?.info(
        {
          redrive_id: redriveId,
          mode,
          dlq_topic: r.dlqTopic,
          partition: r.partition,
          offset: r.offset,
          source_topic: r.sourceTopic,
          cause: r.cause,
          event_id: eventId,
        },
        'dead letter redriven',
      );
    } catch (err) {
      // The claim stays unpublished: a later run takes it over once it is stale.
      result.failed++;
      this.opts.logger?.warn(
        { redrive_id: redriveId, dlq_topic: r.dlqTopic, partition: r.partition, offset: r.offset, error: errorMessage(err) },
        'redrive failed',
      );
    }
  }
}

/** Options of {@link DependencyRedrive}. */
export interface DependencyRedriveOptions {
  redriver: DeadLetterRedriver;
  /** Names of the dependencies down now (empty: all healthy), e.g. the readiness checks marked `dependency`. */
  probe: () => Promise<string[]>;
  /** Catalog source topics whose `dependency` dead letters this instance redrives ({@link JOB_ENDING_TOPICS} and `.dlq` topics are left out). */
  topics: readonly string[];
  /** Only the dead letters this service wrote (`dlq.service`); default any service's. */
  service?: string;
  /** How long the dependencies must have been healthy, ms, before their dead letters are redriven. Default 60 000. */
  healthyForMs?: number;
  /** How often the probe runs, ms. Default 10 000. */
  checkIntervalMs?: number;
  /** Republishes per second. Default 50. */
  ratePerSecond?: number;
  /** A dead letter already redriven this many times (and failed again) is left for an operator. Default 3. */
  maxRedrives?: number;
  logger: Logger;
  /** Clock, epoch ms (tests). */
  now?: () => number;
}

/**
 * Automatic redrive of `dependency` dead letters (issue 12 §4). Every `checkIntervalMs` it probes the dependencies;
 * once every one has answered for `healthyForMs` without a failed probe, it redrives the `dependency` dead letters of
 * its topics that were dead-lettered at least `healthyForMs` ago (so the dependency has been healthy for the whole
 * window since each failure), at most `maxRedrives` times per record, and records each run (Postgres row through
 * the checkpoint store, a log line, `kafka_dead_letters_redriven_total{mode="automatic"}`). Between runs it reads only
 * the DLQs' end offsets (one admin request per topic): a DLQ is scanned again only when it grew, or when the last
 * scan left records too young to redrive.
 *
 * Where it runs: beside the consumers of the source topics, in the service that owns them (KafkaHandlerHost starts
 * one per service when a checkpoint store is provided). That process already probes exactly the dependencies its
 * handlers need (the readiness checks marked `dependency`, the same probe that suspends its consumers during an
 * outage), and it redrives only the dead letters it wrote itself (`dlq.service`), so "the cause is fixed" is judged by
 * the very code whose failure dead-lettered the record. A central redriver would have to know every service's
 * dependencies and could redrive into a service that still sees its store as down. Several instances of a service
 * may run it at once: the checkpoint store's claims make each dead letter republished once.
 */
export class DependencyRedrive {
  private healthySince: number | undefined;
  /** End offsets of the DLQs when the last scan left nothing outstanding: unchanged offsets need no new scan. */
  private cleanAt: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly topics: string[];

  constructor(private readonly opts: DependencyRedriveOptions) {
    this.topics = opts.topics.filter((t) => !t.endsWith('.dlq') && !JOB_ENDING_TOPICS.has(t));
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Starts probing every `checkIntervalMs` (the timer never keeps the process alive). */
  start(): void {
    if (this.topics.length === 0) return;
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick()
        .catch((err: unknown) => this.opts.logger.warn({ error: errorMessage(err) }, 'automatic redrive failed; will retry'))
        .then(() => undefined);
      void this.running.then(() => {
        if (this.stopped) return;
        this.timer = setTimeout(loop, this.opts.checkIntervalMs ?? 10_000);
        this.timer.unref();
      });
    };
    loop();
  }

  /** Stops the loop and waits for a redrive in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * One probe and, when the dependencies have been healthy long enough, one redrive.
   * @returns the redrive's result, or undefined when it did not redrive (a dependency down, not healthy long enough,
   *          or nothing to redrive).
   */
  async tick(): Promise<RedriveResult | undefined> {
    if (this.topics.length === 0) return undefined;
    const missing = await this.opts.probe().catch(() => ['probe']);
    const now = this.now();
    if (missing.length > 0) {
      if (this.healthySince !== undefined) this.opts.logger.info({ missing }, 'automatic redrive: dependencies down');
      this.healthySince = undefined;
      return undefined;
    }
    this.healthySince ??= now;
    const healthyFor = this.opts.healthyForMs ?? 60_000;
    if (now - this.healthySince < healthyFor) return undefined;
    const reader = this.opts.redriver.reader;
    const wanted = new Set(this.topics.map(dlqOf));
    const dlqs = (await reader.dlqTopics()).filter((t) => wanted.has(t));
    if (dlqs.length === 0) return undefined;
    const ends = await reader.endOffsets(dlqs);
    if (ends === this.cleanAt) return undefined;
    const all = await this.opts.redriver.plan({ cause: 'dependency', topics: dlqs, service: this.opts.service }, this.opts.maxRedrives ?? 3);
    const cutoff = now - healthyFor;
    const records = all.records.filter((r) => r.deadLetteredAt <= cutoff);
    const tooYoung = all.records.length - records.length;
    if (records.length === 0) {
      if (tooYoung === 0) this.cleanAt = ends;
      return undefined;
    }
    const bySourceTopic: Record<string, number> = {};
    for (const r of records) bySourceTopic[r.sourceTopic] = (bySourceTopic[r.sourceTopic] ?? 0) + 1;
    const plan: RedrivePlan = { ...all, filter: { ...all.filter, before: cutoff }, records, bySourceTopic };
    const reason = `dependencies healthy since ${new Date(this.healthySince).toISOString()} (${Math.round((now - this.healthySince) / 1000)} s >= ${healthyFor / 1000} s)`;
    const result = await this.opts.redriver.run(plan, {
      mode: 'automatic',
      actor: `automatic-redrive:${this.opts.service ?? 'any'}`,
      ratePerSecond: this.opts.ratePerSecond ?? 50,
      reason,
    });
    if (tooYoung === 0 && result.failed === 0) this.cleanAt = ends;
    this.opts.logger.info(
      { redrive_id: result.redriveId, published: result.published, skipped: result.skipped, failed: result.failed, by_source_topic: bySourceTopic, reason },
      'automatic redrive of dependency dead letters',
    );
    return result;
  }
}
