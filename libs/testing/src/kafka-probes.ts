import { randomUUID } from 'node:crypto';
import type { Admin, IHeaders, Kafka, KafkaMessage } from 'kafkajs';

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

/**
 * The first record on `topic` of each of `keys` (by message key), once `enough` of them (default all) were seen, read
 * from the beginning by {@link waitForRecord}. Rejects after `timeoutMs`.
 */
export async function firstRecordOfEachKey(
  kafka: Kafka,
  topic: string,
  keys: readonly string[],
  timeoutMs: number,
  enough = keys.length,
): Promise<Map<string, SeenRecord>> {
  const wanted = new Set(keys);
  const seen = new Map<string, SeenRecord>();
  await waitForRecord(
    kafka,
    topic,
    (r) => {
      const key = r.message.key?.toString();
      if (key !== undefined && wanted.has(key) && !seen.has(key)) seen.set(key, r);
      return seen.size >= enough;
    },
    timeoutMs,
  );
  return seen;
}

/**
 * Commits `groupId`'s offsets on every partition of `topic` at the topic's current end, so that a service started in
 * that fresh group handles only what is produced next. (With no committed offset, "latest" is resolved only after the
 * group's join, and records produced right after the service is ready could fall before it and be skipped.)
 */
export async function startGroupAtEnd(admin: Admin, groupId: string, topic: string): Promise<void> {
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({ groupId, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
}
