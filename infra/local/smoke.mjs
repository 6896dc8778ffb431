// Smoke test for the local stack (infra/local/up.sh) through the same JS clients the services use.
//   bash scripts/with-node22.sh node infra/local/smoke.mjs
// Checks: the schema registry speaks the Confluent API to @kafkajs/confluent-schema-registry (register under an
// explicit subject, encode/decode, global BACKWARD compatibility rejects an incompatible change with HTTP 409), and
// Kafka round-trips one message through kafkajs on a freshly created 3-partition topic. Exits non-zero on failure.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';

process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

// Connection settings: the environment first, then .local/stack.env written by up.sh.
function stackEnv() {
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.local', 'stack.env');
  const vars = {};
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) vars[m[1]] = m[2];
    }
  } catch {
    // no stack.env: rely on the environment
  }
  return vars;
}
const fileVars = stackEnv();
const setting = (name) => {
  const value = process.env[name] ?? fileVars[name];
  if (!value) throw new Error(`${name} is not set and .local/stack.env does not define it; run infra/local/up.sh first`);
  return value;
};
const registryUrl = setting('SCHEMA_REGISTRY_URL');
const brokers = setting('KAFKA_BROKERS').split(',');

const started = Date.now();
const step = (msg) => console.log(`[smoke +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);

async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function registryChecks() {
  const registry = new SchemaRegistry({ host: registryUrl });
  const subject = 'smoke-value';

  const config = await fetch(`${registryUrl}/config`).then((r) => r.json());
  assert.equal(config.compatibilityLevel ?? config.compatibility, 'BACKWARD', `global compatibility should be BACKWARD, got ${JSON.stringify(config)}`);
  step('registry: global compatibility is BACKWARD');

  const v1 = {
    type: 'record',
    name: 'SmokeEvent',
    namespace: 'dev.llmgov.smoke',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'count', type: 'int' },
      { name: 'note', type: ['null', 'string'], default: null },
    ],
  };
  const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
  assert.ok(Number.isInteger(id) && id > 0, `registered id should be a positive integer, got ${id}`);
  const again = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
  assert.equal(again.id, id, 're-registering the identical schema must return the same id');
  step(`registry: registered ${subject} -> id ${id} (idempotent)`);

  const latestId = await registry.getLatestSchemaId(subject);
  assert.equal(latestId, id, 'latest schema id of the subject');

  const record = { id: 'abc-123', count: 42, note: 'hello' };
  const encoded = await registry.encode(id, record);
  assert.equal(encoded[0], 0, 'Confluent wire format starts with magic byte 0');
  assert.equal(encoded.readInt32BE(1), id, 'wire format carries the schema id');
  registry.cache.clear(); // force decode to fetch the schema by id from the server
  const decoded = await registry.decode(encoded);
  assert.deepEqual({ ...decoded }, record);
  step(`registry: encoded ${encoded.length} bytes and decoded them back`);

  // Adding a required field without a default is not BACKWARD compatible (new readers cannot read old data).
  const incompatible = { ...v1, fields: [...v1.fields, { name: 'required_without_default', type: 'long' }] };
  let rejected;
  try {
    await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(incompatible) }, { subject });
  } catch (error) {
    rejected = error;
  }
  assert.ok(rejected, 'registering a BACKWARD-incompatible schema must fail');
  assert.equal(rejected.status, 409, `incompatible schema should be rejected with HTTP 409, got ${rejected.status}: ${rejected.message}`);
  step(`registry: incompatible change rejected with 409 (${rejected.message.slice(0, 90)}...)`);

  // A compatible evolution (new optional field with a default) would be accepted; check it without registering it.
  const compatible = { ...v1, fields: [...v1.fields, { name: 'optional_with_default', type: 'int', default: 0 }] };
  const check = await fetch(`${registryUrl}/compatibility/subjects/${subject}/versions/latest`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: JSON.stringify(compatible) }),
  }).then((r) => r.json());
  assert.equal(check.is_compatible, true, `compatible evolution should be accepted: ${JSON.stringify(check)}`);
  step('registry: compatible evolution reported compatible');
  return { registry, id };
}

async function kafkaChecks({ registry, id }) {
  const kafka = new Kafka({ clientId: 'llmgov-smoke', brokers, logLevel: logLevel.WARN, retry: { retries: 5 } });
  const admin = kafka.admin();
  const topic = `smoke-${Date.now()}-${process.pid}`;
  await admin.connect();
  try {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    assert.equal(created, true, `topic ${topic} should have been created`);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(meta.topics[0].partitions.length, 3, 'topic should have 3 partitions');
    step(`kafka: created ${topic} with 3 partitions`);

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    const consumer = kafka.consumer({ groupId: `${topic}-group`, allowAutoTopicCreation: false });
    await producer.connect();
    await consumer.connect();
    try {
      const key = `key-${process.pid}`;
      const value = await registry.encode(id, { id: key, count: 7, note: null });
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = new Promise((resolve) => {
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            resolve({ partition, key: message.key?.toString(), value: await registry.decode(message.value) });
          },
        });
      });
      const [meta0] = await producer.send({ topic, messages: [{ key, value, headers: { source: 'smoke' } }] });
      step(`kafka: produced to partition ${meta0.partition} offset ${meta0.baseOffset}`);
      const got = await withTimeout(received, 30000, 'consume');
      assert.equal(got.key, key);
      assert.deepEqual({ ...got.value }, { id: key, count: 7, note: null });
      assert.equal(got.partition, meta0.partition);
      step(`kafka: consumed it back from partition ${got.partition} and decoded it via the registry`);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}

try {
  step(`registry ${registryUrl}, brokers ${brokers.join(',')}`);
  const reg = await registryChecks();
  await kafkaChecks(reg);
  step('OK');
  process.exit(0);
} catch (error) {
  console.error(`[smoke] FAILED: ${error?.stack ?? error}`);
  process.exit(1);
}
