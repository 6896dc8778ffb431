/**
 * The baseline bench-ingest compares ingest-validator with: a plain kafkajs consumer that copies every record of one
 * topic to another (same key, value and headers), one produce request per fetched batch with acks = all, committing
 * as it goes (kafkajs' autoCommit). No decoding, validation or database: the broker-bound cost of consume + produce.
 *
 * Env: KAFKA_BROKERS, PASSTHROUGH_FROM, PASSTHROUGH_TO, PASSTHROUGH_GROUP_ID, PASSTHROUGH_PARTITIONS_CONCURRENTLY.
 * Prints `{"ready": true}` on stdout once its group is joined; stops on SIGTERM.
 */
import { loadPlatformConfig } from '@llmgov/config';
import { createKafka } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const config = loadPlatformConfig();
const from = env('PASSTHROUGH_FROM');
const to = env('PASSTHROUGH_TO');
const kafka = createKafka('bench-passthrough', config.KAFKA_BROKERS, createLogger('bench-passthrough', 'error'));
const producer = kafka.producer({ allowAutoTopicCreation: false });
// The same fetch wait as the platform's runtime (KafkaConsumerRunner), so both wait alike for a fetch to fill.
const consumer = kafka.consumer({ groupId: env('PASSTHROUGH_GROUP_ID'), maxWaitTimeInMs: 100, allowAutoTopicCreation: false });

consumer.on(consumer.events.GROUP_JOIN, () => void process.stdout.write(`${JSON.stringify({ ready: true })}\n`));
await producer.connect();
await consumer.connect();
await consumer.subscribe({ topic: from, fromBeginning: true });
await consumer.run({
  partitionsConsumedConcurrently: Number(process.env.PASSTHROUGH_PARTITIONS_CONCURRENTLY ?? config.KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY),
  eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
    if (batch.messages.length === 0) return;
    await producer.send({
      topic: to,
      acks: -1,
      messages: batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
    });
    resolveOffset(batch.messages.at(-1)!.offset);
    await heartbeat();
  },
});

const stop = async (): Promise<void> => {
  await consumer.disconnect();
  await producer.disconnect();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
