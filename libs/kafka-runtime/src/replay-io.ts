import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { Admin, Kafka, Producer } from 'kafkajs';
import type { Logger } from '@llmgov/observability';
import { ReplayInputError, type OutRecord, type PartitionRange, type ReplayIO, type SourceRecord, type TopicOffsets } from '@llmgov/replay';
import { createKafka } from './kafka-client.js';
import { headersToStrings } from './headers.js';
import { AvroSerde } from './serde.js';

/** The consumer group (and transactional id) of a replay: `llmgov-replay-<id>`, never one of the live groups. */
export const replayGroupId = (replayId: string): string => `llmgov-replay-${replayId}`;

/** kafkajs' error for a transaction call in the wrong state (a producer left ABORTING by a refused abort). */
const STATE_ERROR = /Transaction state exception/;

/** How often a replay's consumer heartbeats while a batch is being republished (rate-limited batches run long), ms. */
const HEARTBEAT_EVERY_MS = 3000;

/**
 * The Kafka side of `llmgov replay` (issue 12 §1): offsets by timestamp, a reader with the replay's own consumer group,
 * and a transactional producer that publishes each chunk and commits the group's offsets in one transaction
 * (read-process-write exactly once, KIP-98: a replay resumed after a crash continues after the last committed chunk
 * and never republishes a record twice). Consumers of the platform read committed records only (kafkajs' default
 * isolation), so an aborted chunk is never seen.
 */
export class KafkaReplayIO implements ReplayIO {
  private producer?: Producer;
  private readonly serde: AvroSerde;

  constructor(
    private readonly kafka: Kafka,
    registry: SchemaRegistry,
    private readonly logger: Logger,
    /** The replay's id: the producer's transactional id is its group id, so a second run fences the first. */
    private readonly replayId: string,
  ) {
    this.serde = new AvroSerde(registry);
  }

  /** An IO on `brokers` and the registry at `registryUrl`. */
  static create(opts: { brokers: string[]; registryUrl: string; logger: Logger; replayId: string }): KafkaReplayIO {
    return new KafkaReplayIO(
      createKafka(`llmgov-replay`, opts.brokers, opts.logger),
      new SchemaRegistry({ host: opts.registryUrl }),
      opts.logger,
      opts.replayId,
    );
  }

  private async withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * The topic's low and high watermarks per partition.
   * @throws ReplayInputError `unknown_topic` when the broker has no such topic (checked by listing, so nothing is created).
   */
  async topicOffsets(topic: string): Promise<TopicOffsets> {
    return this.withAdmin(async (admin) => {
      const topics = await admin.listTopics();
      if (!topics.includes(topic)) throw new ReplayInputError(`topic ${JSON.stringify(topic.slice(0, 200))} does not exist on the broker`, 'unknown_topic');
      const rows = await admin.fetchTopicOffsets(topic);
      return {
        low: new Map(rows.map((r) => [r.partition, BigInt(r.low)])),
        high: new Map(rows.map((r) => [r.partition, BigInt(r.high)])),
      };
    });
  }

  /**
   * Per partition, the offset of the first record with a timestamp at or after `ms` (kafkajs
   * `fetchTopicOffsetsByTimestamp`, Kafka ListOffsets); the high watermark when no record is that late.
   */
  async offsetsAt(topic: string, ms: number, high: Map<number, bigint>): Promise<Map<number, bigint>> {
    return this.withAdmin(async (admin) => {
      const rows = await admin.fetchTopicOffsetsByTimestamp(topic, ms);
      return new Map(rows.map((r) => [r.partition, BigInt(r.offset) < 0n ? (high.get(r.partition) ?? 0n) : BigInt(r.offset)]));
    });
  }

  /** The offsets the replay's group committed (with its transactions), per partition; partitions without one are absent. */
  async committed(topic: string): Promise<Map<number, bigint>> {
    return this.withAdmin(async (admin) => {
      const rows = await admin.fetchOffsets({ groupId: replayGroupId(this.replayId), topics: [topic] });
      const out = new Map<number, bigint>();
      for (const p of rows[0]?.partitions ?? []) if (BigInt(p.offset) >= 0n) out.set(p.partition, BigInt(p.offset));
      return out;
    });
  }

  async decode(value: Buffer | null): Promise<unknown> {
    return this.serde.decode(value);
  }

  async encodeLike(like: Buffer, value: unknown): Promise<Buffer> {
    return this.serde.registry.encode(like.readInt32BE(1), value);
  }

  async read(opts: Parameters<ReplayIO['read']>[0]): Promise<void> {
    const todo = new Map<number, PartitionRange>(opts.ranges.filter((r) => r.start < r.end).map((r) => [r.partition, r]));
    if (todo.size === 0 || opts.signal?.aborted) return;
    const consumer = this.kafka.consumer({ groupId: opts.groupId, readUncommitted: false, allowAutoTopicCreation: false, retry: { retries: 5 } });
    let settle!: (err?: unknown) => void;
    const finished = new Promise<void>((resolve, reject) => (settle = (err?: unknown) => (err === undefined ? resolve() : reject(err as Error))));
    const allPartitions = opts.ranges.map((r) => r.partition);
    const done = (partition: number) => {
      todo.delete(partition);
      consumer.pause([{ topic: opts.topic, partitions: [partition] }]);
      if (todo.size === 0) settle();
    };
    const onAbort = () => settle();
    const busy = new Set<number>();
    // One onBatch at a time (the ReplayIO contract: each is awaited before the next). The end-of-range path below runs
    // from a kafkajs event, which does not wait for it, so unchained it could run beside eachBatch of another partition:
    // two chunks' transactions at once on the one transactional producer.
    let chain: Promise<void> = Promise.resolve();
    const serially = (fn: () => Promise<void>): Promise<void> => {
      const p = chain.then(fn);
      chain = p.catch(() => undefined);
      return p;
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // A fetch of only control records (transaction markers) is never handed to eachBatch; its end shows here.
    const offEndBatch = consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const { partition, lastOffset } = e.payload as { partition: number; lastOffset: string };
      const range = todo.get(partition);
      if (range && BigInt(lastOffset) + 1n >= range.end && !busy.has(partition))
        void serially(async () => {
          if (todo.has(partition)) await opts.onBatch(partition, [], range.end);
        }).then(
          () => todo.has(partition) && done(partition),
          (err: unknown) => settle(err),
        );
    });
    // A consumer that crashes (the group cannot be joined, the broker went away past kafkajs' retries) ends the read
    // with its error rather than leaving the replay waiting for ranges that will never be read.
    const offCrash = consumer.on(consumer.events.CRASH, (e) => settle((e.payload as { error: Error }).error ?? new Error('replay consumer crashed')));
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, heartbeat, resolveOffset }) => {
          const range = todo.get(batch.partition);
          if (!range || opts.signal?.aborted) return;
          const records: SourceRecord[] = batch.messages.map((m) => ({
            partition: batch.partition,
            offset: BigInt(m.offset),
            timestamp: Number(m.timestamp),
            key: m.key,
            value: m.value,
            headers: headersToStrings(m.headers),
          }));
          const hb = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
          busy.add(batch.partition);
          try {
            // Skipped when the end-of-range path finished the partition while this batch waited its turn.
            await serially(async () => {
              if (todo.has(batch.partition)) await opts.onBatch(batch.partition, records, BigInt(batch.lastOffset()) + 1n);
            });
            resolveOffset(batch.lastOffset());
          } catch (err) {
            consumer.pause([{ topic: opts.topic, partitions: [batch.partition] }]);
            settle(err);
            return;
          } finally {
            clearInterval(hb);
            busy.delete(batch.partition);
          }
          if (BigInt(batch.lastOffset()) + 1n >= range.end) done(batch.partition);
        },
      });
      // pause and seek work once run() has set the group up; fetching starts after the group join, so they apply first.
      const idle = allPartitions.filter((p) => !todo.has(p));
      if (idle.length > 0) consumer.pause([{ topic: opts.topic, partitions: idle }]);
      for (const r of todo.values()) consumer.seek({ topic: opts.topic, partition: r.partition, offset: String(r.start) });
      await finished;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      offEndBatch();
      offCrash();
      await consumer.disconnect().catch((err: unknown) => this.logger.warn({ err }, 'replay consumer disconnect failed'));
    }
  }

  /**
   * A transaction the broker refused with a retriable error (e.g. CONCURRENT_TRANSACTIONS, when the markers of the
   * previous one are still being written on a busy broker, beyond kafkajs' own retries) is aborted and run again whole:
   * an aborted transaction is invisible to read-committed consumers, so a retry never duplicates a record.
   */
  private readonly transactionRetry = retry(
    handleWhen((err) => (err as { retriable?: boolean }).retriable === true || STATE_ERROR.test((err as Error).message)),
    { maxAttempts: 5, backoff: new ExponentialBackoff({ initialDelay: 500, maxDelay: 10_000 }) },
  );

  async publishAndCommit(opts: { groupId: string; topic: string; records: OutRecord[]; offsets: { partition: number; next: bigint }[] }): Promise<void> {
    await this.transactionRetry.execute(() => this.transaction(opts));
  }

  private async transaction(opts: { groupId: string; topic: string; records: OutRecord[]; offsets: { partition: number; next: bigint }[] }): Promise<void> {
    const producer = await this.transactionalProducer();
    let tx;
    try {
      tx = await producer.transaction();
    } catch (err) {
      await this.dropProducer();
      throw err;
    }
    try {
      if (opts.records.length > 0)
        await tx.send({
          topic: opts.topic,
          messages: opts.records.map((r) => ({ partition: r.partition, key: r.key, value: r.value, headers: r.headers })),
        });
      await tx.sendOffsets({
        consumerGroupId: opts.groupId,
        topics: [{ topic: opts.topic, partitions: opts.offsets.map((o) => ({ partition: o.partition, offset: String(o.next) })) }],
      });
      await tx.commit();
    } catch (err) {
      // An abort the broker refuses too leaves kafkajs' producer in ABORTING, where it cannot begin again: drop it, so
      // the retry starts a new producer, whose InitProducerId with the same transactional id aborts what is left.
      await tx.abort().catch(() => this.dropProducer());
      throw err;
    }
  }

  /** Forgets the transactional producer (the next transaction connects a new one). */
  private async dropProducer(): Promise<void> {
    const stale = this.producer;
    this.producer = undefined;
    await stale?.disconnect().catch(() => undefined);
  }

  private async transactionalProducer(): Promise<Producer> {
    if (!this.producer) {
      const p = this.kafka.producer({ transactionalId: replayGroupId(this.replayId), idempotent: true, maxInFlightRequests: 1 });
      await p.connect();
      this.producer = p;
    }
    return this.producer;
  }

  /**
   * Deletes the replay's consumer group (its committed offsets) once the replay is finished, so finished replays do not
   * pile up groups until the broker's offset retention. A group that is already gone is fine.
   * @throws kafkajs errors when the broker is unreachable.
   */
  async deleteGroup(): Promise<void> {
    await this.withAdmin(async (admin) => {
      try {
        await admin.deleteGroups([replayGroupId(this.replayId)]);
      } catch (err) {
        const codes = ((err as { groups?: { error?: { type?: string } }[] }).groups ?? []).map((g) => g.error?.type);
        if (!codes.every((c) => c === 'GROUP_ID_NOT_FOUND')) throw err;
      }
    });
  }

  /** Disconnects the producer (the reader disconnects by itself). */
  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
  }
}

// Services read the replay headers through the runtime they already depend on.
export { ReplayHeaders, effectKey, isReplayed, shadowRunOfHeaders } from '@llmgov/replay';
