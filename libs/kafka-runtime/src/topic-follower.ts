import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '@llmgov/observability';
import { headersToStrings } from './headers.js';
import type { AvroSerde } from './serde.js';

/** A record a {@link TopicFollower} hands over: decoded value (null when undecodable or a tombstone) and its position. */
export interface FollowedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  /** Broker timestamp, epoch ms. */
  timestamp: number;
  headers: Record<string, string>;
  value: unknown;
}

/**
 * Follows a few topics from given offsets onward with its own consumer group, decoding each record with the registry,
 * until stopped: the read side of a tool that starts work and then watches its results arrive (`llmgov shadow`). Its
 * offsets are never committed (a follower starts where it is told), and its group is never one of the live groups.
 * `caughtUp` resolves once every partition of a topic has been read up to given offsets, so a caller can wait for "all
 * that was there when I started" before it decides what to do. kafkajs has no such primitive; this is the small part
 * of a consumer that the tool needs (positions and a waiter), on top of kafkajs' consumer.
 */
export class TopicFollower {
  private consumer: Consumer | undefined;
  private readonly positions = new Map<string, Map<number, bigint>>();
  private readonly waiters: { topic: string; until: Map<number, bigint>; resolve: () => void; reject: (err: Error) => void }[] = [];
  private crashed: Error | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly serde: AvroSerde,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts reading every partition of each topic from `from` (the next offset to read per partition; a partition
   * missing from the map starts at its beginning). `onRecord` is called in offset order per partition.
   * @throws kafkajs errors when the broker cannot be reached.
   */
  async start(opts: { groupId: string; topics: { topic: string; from: Map<number, bigint> }[]; onRecord: (r: FollowedRecord) => void }): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: opts.groupId, readUncommitted: false, allowAutoTopicCreation: false, maxWaitTimeInMs: 250 });
    this.consumer = consumer;
    for (const t of opts.topics) this.positions.set(t.topic, new Map(t.from));
    const advance = (topic: string, partition: number, next: bigint) => {
      const at = this.positions.get(topic)!;
      if ((at.get(partition) ?? -1n) < next) at.set(partition, next);
      this.wake();
    };
    // A fetch of only control records is never handed to eachBatch; its end shows here.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const { topic, partition, lastOffset } = e.payload as { topic: string; partition: number; lastOffset: string };
      if (this.positions.has(topic)) advance(topic, partition, BigInt(lastOffset) + 1n);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.crashed = (e.payload as { error: Error }).error ?? new Error('follower consumer crashed');
      this.wake();
    });
    await consumer.connect();
    await consumer.subscribe({ topics: opts.topics.map((t) => t.topic), fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        for (const m of batch.messages) {
          let value: unknown = null;
          try {
            value = m.value === null ? null : await this.serde.decode(m.value);
          } catch (err) {
            this.logger.debug({ topic: batch.topic, offset: m.offset, error: (err as Error).message }, 'undecodable record skipped');
          }
          opts.onRecord({
            topic: batch.topic,
            partition: batch.partition,
            offset: BigInt(m.offset),
            timestamp: Number(m.timestamp),
            headers: headersToStrings(m.headers),
            value,
          });
        }
        advance(batch.topic, batch.partition, BigInt(batch.lastOffset()) + 1n);
        await heartbeat();
      },
    });
    // Seeks apply once run() has joined the group (as in KafkaReplayIO.read).
    for (const t of opts.topics) for (const [partition, offset] of t.from) consumer.seek({ topic: t.topic, partition, offset: String(offset) });
  }

  /**
   * Resolves when every partition of `topic` in `until` has been read up to its offset (exclusive).
   * @throws the consumer's error when it crashed.
   */
  caughtUp(topic: string, until: Map<number, bigint>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ topic, until, resolve, reject });
      this.wake();
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      const at = this.positions.get(w.topic) ?? new Map<number, bigint>();
      const done = [...w.until].every(([p, end]) => (at.get(p) ?? 0n) >= end);
      if (!done && !this.crashed) continue;
      this.waiters.splice(this.waiters.indexOf(w), 1);
      if (done) w.resolve();
      else w.reject(this.crashed!);
    }
  }

  /** Stops reading and leaves the group. */
  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch((err: unknown) => this.logger.warn({ err }, 'follower disconnect failed'));
    this.consumer = undefined;
  }
}
