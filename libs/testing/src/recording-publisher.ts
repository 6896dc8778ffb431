/**
 * A stand-in for EventPublisher in unit specs: keeps every published record in memory.
 * `on(topic)` returns the values published to one topic, in order.
 */
export class RecordingPublisher {
  readonly sent: { topic: string; key: string | undefined; value: unknown }[] = [];

  async publish(topic: string, record: { key?: string; value: unknown }): Promise<void> {
    this.sent.push({ topic, key: record.key, value: record.value });
  }

  async publishMany(topic: string, records: { key?: string; value: unknown }[]): Promise<void> {
    for (const r of records) await this.publish(topic, r);
  }

  on<T>(topic: string): T[] {
    return this.sent.filter((s) => s.topic === topic).map((s) => s.value as T);
  }
}
