import type { Admin, Kafka } from 'kafkajs';
import type { AvroSerde } from '@llmgov/kafka-runtime';

/**
 * Reads every record of `topics` from the beginning up to their end offsets at call time, with a throw-away group
 * (named by the caller, inside the run's namespace so its cleanup deletes it), and hands each decoded value to `each`.
 * Called after the load, so reading competes with nothing being measured.
 */
export async function readAll(
  kafka: Kafka,
  admin: Admin,
  serde: AvroSerde,
  groupId: string,
  topics: string[],
  each: (topic: string, value: unknown, timestamp: number) => void,
): Promise<void> {
  const remaining = new Map<string, bigint>();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) if (BigInt(p.high) > BigInt(p.low)) remaining.set(`${topic}:${p.partition}`, BigInt(p.high));
  }
  if (remaining.size === 0) return;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              const k = `${batch.topic}:${batch.partition}`;
              try {
                each(batch.topic, await serde.decode(m.value), Number(m.timestamp));
              } catch {
                // not one of ours (e.g. a probe's raw bytes): skipped
              }
              const end = remaining.get(k);
              if (end !== undefined && BigInt(m.offset) + 1n >= end) remaining.delete(k);
            }
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

/** Mean kafka_handler_duration_seconds per topic (all outcomes, since the service started), ms. */
export function handlerMeans(text: string): Record<string, number> {
  const sum = new Map<string, number>();
  const count = new Map<string, number>();
  for (const m of text.matchAll(/^kafka_handler_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm)) {
    const topic = /topic="([^"]+)"/.exec(m[2]!)?.[1];
    if (!topic) continue;
    const into = m[1] === 'sum' ? sum : count;
    into.set(topic, (into.get(topic) ?? 0) + Number(m[3]));
  }
  return Object.fromEntries([...count].filter(([, c]) => c > 0).map(([t, c]) => [t, Math.round(((sum.get(t) ?? 0) * 1000 * 10) / c) / 10]));
}
