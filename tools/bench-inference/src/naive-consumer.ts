/**
 * The naive consumer the benchmark compares the inference worker with: a plain kafkajs `eachMessage` that sends every
 * request to the pool the moment it is read, with no in-flight limit, no pause and no retry. It spreads requests
 * round-robin over the endpoints and prints one JSON line per finished request on stdout:
 * `{"job_id", "ok", "status", "finished_at"}`.
 *
 * Env: KAFKA_BROKERS, SCHEMA_REGISTRY_URL, NAIVE_TOPIC, NAIVE_GROUP_ID, NAIVE_ENDPOINTS (comma-separated base URLs),
 * NAIVE_MODEL. It prints `{"ready": true}` once its group is joined.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadPlatformConfig } from '@llmgov/config';
import type { InferenceRequestRouted } from '@llmgov/contracts';
import { AvroSerde, createKafka } from '@llmgov/kafka-runtime';
import { ChatCompletionsClient, LlmEndpointError } from '@llmgov/llm-clients';
import { createLogger } from '@llmgov/observability';

const config = loadPlatformConfig();
const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const topic = env('NAIVE_TOPIC');
const endpoints = env('NAIVE_ENDPOINTS').split(',');
const model = env('NAIVE_MODEL');
const kafka = createKafka('bench-naive', config.KAFKA_BROKERS, createLogger('bench-naive', 'error'));
const serde = new AvroSerde(new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }));
const client = new ChatCompletionsClient();
const consumer = kafka.consumer({ groupId: env('NAIVE_GROUP_ID'), maxWaitTimeInMs: 100 });
let next = 0;

const emit = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

consumer.on(consumer.events.GROUP_JOIN, () => emit({ ready: true }));
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: false });
await consumer.run({
  eachMessage: async ({ message }) => {
    const req = (await serde.decode(message.value)) as InferenceRequestRouted;
    const endpoint = endpoints[next++ % endpoints.length]!;
    // Fire and forget: no limit, no backpressure.
    void client
      .complete({
        endpoint,
        model,
        messages: [
          { role: 'system', content: req.system_prompt ?? 'Answer the question.' },
          { role: 'user', content: `Question: ${req.prompt}` },
        ],
        max_tokens: req.max_tokens,
        temperature: req.temperature,
        deadlineMs: req.deadline_at,
      })
      .then(
        () => emit({ job_id: req.job_id, ok: true, status: 200, finished_at: Date.now() }),
        (err: unknown) =>
          emit({ job_id: req.job_id, ok: false, status: err instanceof LlmEndpointError ? (err.status ?? err.source) : 'error', finished_at: Date.now() }),
      );
  },
});

const stop = async (): Promise<void> => {
  await consumer.disconnect().catch(() => undefined);
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
