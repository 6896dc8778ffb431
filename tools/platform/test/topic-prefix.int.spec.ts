/**
 * A run under KAFKA_TOPIC_PREFIX (a benchmark's or a probe's namespace) against the real local stack: the real
 * ingest-validator service consumes and produces only `<prefix>` topics and groups, leaves the live topics' end
 * offsets and the live consumer groups as they were, and `deleteNamespace` removes every topic and group it made.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Admin, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { Topics, allTopicNames, dlqTopic, type DocumentSubmitted } from '@llmgov/contracts';
import { AvroSerde, DlqHeaders, createKafka, deleteNamespace, newEnvelope } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { bootstrapPlatform, repoRoot, startPlatform, type RunningPlatform } from '../src/index.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-ns.${run}.`;
const LIVE_GROUP = 'ingest-validator';

let live: PlatformConfig;
let platform: RunningPlatform | undefined;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let serde: AvroSerde;

/** End offset of every partition of every live catalog topic and DLQ, as `topic:partition -> offset`. */
async function liveEndOffsets(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const topic of allTopicNames()) {
    for (const p of await admin.fetchTopicOffsets(topic)) out.set(`${topic}:${p.partition}`, p.high);
  }
  return out;
}

/** Committed offsets of the live ingest-validator group on its topics (-1 where it never committed). */
async function liveGroupOffsets(): Promise<string> {
  const topics = [Topics.documentSubmitted, Topics.inferenceSubmitted, Topics.jobStatus];
  return JSON.stringify(await admin.fetchOffsets({ groupId: LIVE_GROUP, topics }));
}

async function groupIds(): Promise<string[]> {
  return (await admin.listGroups()).groups.map((g) => g.groupId).sort();
}

/** Reads `topic` from the start with a group inside the namespace (so cleanup removes it) until `match`. */
async function firstRecord(topic: string, match: (m: KafkaMessage) => boolean): Promise<KafkaMessage> {
  const consumer = kafka.consumer({ groupId: `${prefix}probe-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<KafkaMessage>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no matching record on ${topic} within 60 s`)), 60_000);
      consumer.run({ eachMessage: async ({ message }) => void (match(message) && resolve(message)) }).catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

before(async () => {
  live = loadPlatformConfig();
  await bootstrapPlatform(live); // the live topics exist, as on any machine that ran the platform
  kafka = createKafka(`it-ns-${run}`, live.KAFKA_BROKERS, createLogger('it', 'error'));
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  serde = new AvroSerde(new SchemaRegistry({ host: live.SCHEMA_REGISTRY_URL }));
});

after(async () => {
  await platform?.stop();
  await deleteNamespace(kafka, prefix).catch(() => undefined);
  await producer?.disconnect();
  await admin?.disconnect();
});

describe('KAFKA_TOPIC_PREFIX', { timeout: 240_000 }, () => {
  it('runs a real service inside the namespace without touching live topics or groups, and deletes it after', async () => {
    const endsBefore = await liveEndOffsets();
    const groupOffsetsBefore = await liveGroupOffsets();
    const groupsBefore = await groupIds();

    const config: PlatformConfig = { ...live, KAFKA_TOPIC_PREFIX: prefix };
    const report = await bootstrapPlatform(config);
    assert.ok(report.topicsCreated.includes(`${prefix}${Topics.documentSubmitted}`));
    assert.ok(
      report.topicsCreated.every((t) => t.startsWith(prefix)),
      'bootstrap created only namespaced topics',
    );
    platform = await startPlatform({
      config,
      basePort: 18650,
      engines: false,
      services: ['ingest-validator'],
      logDir: path.join(repoRoot(), '.local', 'logs', 'test'),
      env: { API_KEYS: 'tenant-a=test-key-tenant-a-0001', LOG_LEVEL: 'warn' },
    });

    // A valid document goes through to the namespaced validated topic; garbage goes to the namespaced DLQ.
    const id = `ns-doc-${run}`;
    const doc: DocumentSubmitted = {
      ...newEnvelope('tenant-a', id),
      document_id: id,
      source: 'it',
      title: null,
      text: `Namespaced body ${run}.`,
      language: 'en',
      metadata: {},
    };
    const raw = `${prefix}${Topics.documentSubmitted}`;
    await producer.send({ topic: raw, messages: [{ key: `tenant-a/${id}`, value: await serde.encode(Topics.documentSubmitted, doc) }] });
    await producer.send({ topic: raw, messages: [{ key: `garbage-${run}`, value: Buffer.from([0xde, 0xad]) }] });
    const validated = await firstRecord(`${prefix}${Topics.documentValidated}`, (m) => m.key?.toString() === `tenant-a/${id}`);
    assert.equal((await serde.decode<{ document_id: string }>(validated.value)).document_id, id);
    const dead = await firstRecord(`${prefix}${dlqTopic(Topics.documentSubmitted)}`, (m) => m.key?.toString() === `garbage-${run}`);
    assert.equal(dead.headers?.[DlqHeaders.sourceTopic]?.toString(), Topics.documentSubmitted, 'DLQ provenance names the catalog topic');

    await platform.stop();
    platform = undefined;

    assert.deepEqual(await liveEndOffsets(), endsBefore, 'no record reached a live topic');
    assert.equal(await liveGroupOffsets(), groupOffsetsBefore, 'the live ingest-validator group did not move');
    const newGroups = (await groupIds()).filter((g) => !groupsBefore.includes(g));
    assert.ok(newGroups.includes(`${prefix}${LIVE_GROUP}`), `the service consumed in ${prefix}${LIVE_GROUP}`);
    assert.deepEqual(
      newGroups.filter((g) => !g.startsWith(prefix)),
      [],
      'every new group is inside the namespace',
    );

    const deleted = await deleteNamespace(kafka, prefix);
    assert.ok(deleted.topics.includes(raw));
    assert.ok(deleted.groups.includes(`${prefix}${LIVE_GROUP}`));
    assert.deepEqual(
      (await admin.listTopics()).filter((t) => t.startsWith(prefix)),
      [],
    );
    assert.deepEqual(
      (await groupIds()).filter((g) => g.startsWith(prefix)),
      [],
    );
  });
});
