import { randomUUID } from 'node:crypto';
import type { IHeaders, Kafka, KafkaMessage } from 'kafkajs';

export interface SeenRecord {
  topic: string;
  partition: number;
  message: KafkaMessage;
  headers: Record<string, string>;
}

function headerStrings(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = first.toString();
  }
  return out;
}

/**
 * Reads `topic` from the beginning with a throw-away consumer group and resolves with the first record
 * for which `match` returns true (it may be async, e.g. to Avro-decode). Rejects after `timeoutMs`.
 */
export async function waitForRecord(
  kafka: Kafka,
  topic: string,
  match: (r: SeenRecord) => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<SeenRecord> {
  const consumer = kafka.consumer({ groupId: `test-probe-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<SeenRecord>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no matching record on ${topic} within ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          eachMessage: async ({ topic: t, partition, message }) => {
            const r = { topic: t, partition, message, headers: headerStrings(message.headers) };
            if (await match(r)) resolve(r);
          },
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

/** Every record of `topic` whose key equals `key`, read up to the current end of the topic. */
export async function recordsWithKey(kafka: Kafka, topic: string, key: string): Promise<KafkaMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => [e.partition, BigInt(e.high)]));
  const found: KafkaMessage[] = [];
  if (remaining.size === 0) return found;
  const consumer = kafka.consumer({ groupId: `test-scan-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          if (message.key?.toString() === key) found.push(message);
          const end = remaining.get(partition);
          if (end !== undefined && BigInt(message.offset) + 1n >= end) remaining.delete(partition);
          if (remaining.size === 0) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return found;
}

/** Resolves when consumer group `groupId` has committed past `offset` on `topic`/`partition` (the record was fully handled). */
export async function waitForCommitted(kafka: Kafka, groupId: string, topic: string, partition: number, offset: string, timeoutMs = 30_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const p = t?.partitions.find((x) => x.partition === partition);
      if (p && BigInt(p.offset) > BigInt(offset)) return;
      if (Date.now() > deadline) throw new Error(`group ${groupId} did not commit past ${topic}[${partition}]@${offset} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.disconnect();
  }
}
