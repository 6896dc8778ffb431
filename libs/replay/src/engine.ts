import Bottleneck from 'bottleneck';
import { matchesFilter, recordFacts, type RecordFilter } from './filter.js';
import { ReplayHeaders } from './headers.js';
import type { PartitionRange } from './spec.js';
import type { OutRecord, ReplayTarget, SourceRecord } from './target.js';

/**
 * The Kafka side of a replay (implemented by `KafkaReplayIO` in libs/kafka-runtime; a fake in unit tests).
 */
export interface ReplayIO {
  /**
   * Reads `[start, end)` of every range in offset order with consumer group `groupId`, handing each fetched batch of
   * one partition to `onBatch` (awaited before the next batch) with `fetchedThrough`, the offset after the last one the
   * fetch covered (control records of transactions included, which are never handed over). Resolves when every range
   * is read or `signal` aborted (then after the batch in hand).
   */
  read(opts: {
    topic: string;
    groupId: string;
    ranges: PartitionRange[];
    signal?: AbortSignal;
    onBatch: (partition: number, records: SourceRecord[], fetchedThrough: bigint) => Promise<void>;
  }): Promise<void>;
  /** Decodes a value with the schema registry. @throws when the bytes are not a registered Avro record. */
  decode(value: Buffer | null): Promise<unknown>;
  /** Encodes `value` with the schema id of `like` (a Confluent-framed record of the same topic). */
  encodeLike(like: Buffer, value: unknown): Promise<Buffer>;
  /**
   * Publishes `records` and commits `offsets` (the next offset to read per partition) for `groupId` in one Kafka
   * transaction: either both land or neither, so a resumed replay never republishes a record twice.
   */
  publishAndCommit(opts: { groupId: string; topic: string; records: OutRecord[]; offsets: { partition: number; next: bigint }[] }): Promise<void>;
}

/** Counters of a replay run (cumulative across resumes when a checkpoint seeded them). */
export interface ReplayCounts {
  /** Records read from the ranges. */
  scanned: number;
  /** Records that passed the filter. */
  matched: number;
  /** Records published by the target. */
  republished: number;
  /** Records whose value did not decode (never republished; the topic's DLQ has the original if a consumer failed on it). */
  undecodable: number;
}

/** Where a replay stands: the next offset to read per partition, and the counts so far. */
export interface ReplayProgress extends ReplayCounts {
  positions: Map<number, bigint>;
  /** Records in the ranges (the sum of end - start, control records included), for a progress bar. */
  total: number;
}

/** Saves a replay's progress (Postgres in the CLI: `ReplayRepository.checkpoint`). */
export type CheckpointSink = (progress: ReplayProgress) => Promise<void>;

export interface RunReplayOptions {
  replayId: string;
  topic: string;
  /** `llmgov-replay-<replayId>`. */
  groupId: string;
  /** The whole range of the replay per partition (start as first planned; used for the total). */
  ranges: PartitionRange[];
  /** Where to continue from per partition (a checkpoint); defaults to each range's start. */
  resumeFrom?: Map<number, bigint>;
  /** Counts of earlier runs of this replay (from the checkpoint). */
  counts?: ReplayCounts;
  filter: RecordFilter;
  target: ReplayTarget;
  io: ReplayIO;
  /** Records per second published at most; undefined: unlimited. */
  ratePerSecond?: number;
  /** Called after every committed transaction, in order. */
  checkpoint?: CheckpointSink;
  /** Called as records are read (for a progress bar). */
  onProgress?: (progress: ReplayProgress) => void;
  /** Stops the replay after the batch in hand; the checkpoint holds what was done. */
  signal?: AbortSignal;
  /** Most records published in one transaction (default 100). */
  maxRecordsPerTransaction?: number;
}

export interface ReplayResult extends ReplayProgress {
  /** True when every range was read to its end; false when stopped by the signal. */
  completed: boolean;
}

/** Total records in ranges. */
export const rangeTotal = (ranges: readonly PartitionRange[]): number => ranges.reduce((n, r) => n + Number(r.end - r.start), 0);

/**
 * Runs (or continues) a replay: reads the ranges with the replay's own consumer group, decodes each record, keeps those
 * that pass the filter, hands them to the target, and publishes what it returns with the group's offsets in one
 * transaction per chunk (`maxRecordsPerTransaction`, or the end of a fetched batch), then checkpoints. Publishing is
 * rate limited by bottleneck (`minTime` = 1000 / rate ms between records).
 * @throws whatever the IO or the checkpoint sink throws (the checkpoint then holds the last committed chunk).
 */
export async function runReplay(opts: RunReplayOptions): Promise<ReplayResult> {
  const positions = new Map<number, bigint>(opts.ranges.map((r) => [r.partition, opts.resumeFrom?.get(r.partition) ?? r.start]));
  const counts: ReplayCounts = { ...(opts.counts ?? { scanned: 0, matched: 0, republished: 0, undecodable: 0 }) };
  const total = rangeTotal(opts.ranges);
  const progress = (): ReplayProgress => ({ ...counts, positions: new Map(positions), total });
  const limiter = opts.ratePerSecond ? new Bottleneck({ maxConcurrent: 1, minTime: 1000 / opts.ratePerSecond }) : undefined;
  // About one transaction a second under a rate limit, so the published records and the checkpoint move together.
  const maxPerTx = Math.max(1, Math.min(opts.maxRecordsPerTransaction ?? 100, opts.ratePerSecond ? Math.ceil(opts.ratePerSecond) : Infinity));
  const remaining = opts.ranges
    .map((r) => ({ partition: r.partition, start: positions.get(r.partition)!, end: r.end }))
    .map((r) => ({ ...r, start: r.start < r.end ? r.start : r.end }));

  // Checkpoints are written in commit order: a chain of promises, since batches of partitions run concurrently.
  let chain: Promise<void> = Promise.resolve();
  const commit = async (partition: number, records: OutRecord[], next: bigint, scanned: Partial<ReplayCounts>) => {
    await opts.io.publishAndCommit({ groupId: opts.groupId, topic: opts.topic, records, offsets: [{ partition, next }] });
    positions.set(partition, next);
    counts.scanned += scanned.scanned ?? 0;
    counts.matched += scanned.matched ?? 0;
    counts.undecodable += scanned.undecodable ?? 0;
    counts.republished += records.length;
    const snapshot = progress();
    chain = chain.then(() => opts.checkpoint?.(snapshot));
    await chain;
    opts.onProgress?.(snapshot);
  };

  await opts.io.read({
    topic: opts.topic,
    groupId: opts.groupId,
    ranges: remaining,
    signal: opts.signal,
    onBatch: async (partition, records, fetchedThrough) => {
      const end = remaining.find((r) => r.partition === partition)!.end;
      let out: OutRecord[] = [];
      let pending: ReplayCounts = { scanned: 0, matched: 0, republished: 0, undecodable: 0 };
      let next = positions.get(partition)!;
      for (const rec of records) {
        if (rec.offset >= end || rec.offset < next) continue;
        if (opts.signal?.aborted) break;
        pending.scanned += 1;
        next = rec.offset + 1n;
        let value: unknown;
        try {
          value = await opts.io.decode(rec.value);
        } catch {
          pending.undecodable += 1;
          continue;
        }
        const facts = recordFacts(value);
        if (!matchesFilter(facts, opts.filter)) continue;
        pending.matched += 1;
        const originEventId = rec.headers[ReplayHeaders.originEventId] || facts.eventId || '';
        const raw = rec.value!;
        const o = await opts.target.toRecord(rec, {
          replayId: opts.replayId,
          topic: opts.topic,
          value,
          originEventId,
          encode: (v) => opts.io.encodeLike(raw, v),
        });
        if (o) {
          if (limiter) await limiter.schedule(() => Promise.resolve());
          out.push(o);
        }
        if (out.length >= maxPerTx) {
          await commit(partition, out, next, pending);
          out = [];
          pending = { scanned: 0, matched: 0, republished: 0, undecodable: 0 };
        }
      }
      // Whatever else the fetch covered (control records, records past the range end) moves the position on.
      if (!opts.signal?.aborted) {
        const through = fetchedThrough < end ? fetchedThrough : end;
        if (through > next) next = through;
      }
      if (next !== positions.get(partition) || out.length > 0) await commit(partition, out, next, pending);
      else opts.onProgress?.(progress());
    },
  });
  await chain;
  await limiter?.stop({ dropWaitingJobs: false });
  const result = progress();
  const completed = opts.ranges.every((r) => (result.positions.get(r.partition) ?? r.start) >= r.end);
  return { ...result, completed };
}
