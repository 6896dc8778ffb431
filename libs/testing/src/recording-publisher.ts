import { isTopicName, messageKey } from '@llmgov/contracts';

/**
 * A stand-in for EventPublisher in unit specs: keeps every published record in memory, with the message key the real
 * publisher would derive from the topic catalog.
 * `on(topic)` returns the values published to one topic, in order.
 *
 * `before`, when set, runs before each record is recorded: throw (or reject) to make that publish fail as a broker
 * error would, or return a promise the spec settles later to hold the publish unacknowledged. A record is recorded
 * only once `before` resolved, as the real publisher resolves only once the broker acknowledged.
 */
export class RecordingPublisher {
  readonly sent: { topic: string; key: string | undefined; value: unknown }[] = [];
  before: ((topic: string, record: { key?: string; value: unknown }) => void | Promise<void>) | undefined;

  async publish(topic: string, record: { key?: string; value: unknown }): Promise<void> {
    await this.before?.(topic, record);
    // The key the real publisher derives from the topic catalog (messageKey).
    const key = isTopicName(topic) ? messageKey(topic, record.value as never) : record.key;
    this.sent.push({ topic, key, value: record.value });
  }

  async publishMany(topic: string, records: { key?: string; value: unknown }[]): Promise<void> {
    for (const r of records) await this.publish(topic, r);
  }

  /** A tombstone (null value) under `key`, as EventPublisher.publishTombstone sends it. */
  async publishTombstone(topic: string, key: string): Promise<void> {
    await this.before?.(topic, { key, value: null });
    this.sent.push({ topic, key, value: null });
  }

  on<T>(topic: string): T[] {
    return this.sent.filter((s) => s.topic === topic).map((s) => s.value as T);
  }

  /** The keys of the records published to one topic, in order. */
  keysOn(topic: string): (string | undefined)[] {
    return this.sent.filter((s) => s.topic === topic).map((s) => s.key);
  }
}
