/**
 * Integration spec against the real Confluent-compatible registry of the local stack
 * (`SCHEMA_REGISTRY_URL`, written by infra/local/up.sh to .local/stack.env). Skipped when the variable is unset.
 *
 * It registers the real `<topic>-value` subjects (as the platform bootstrap does: idempotent), and uses a unique
 * subject prefix per run for the compatibility test so the real subjects never see an incompatible schema.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { checkBackwardCompatible, fixturesFor, rawSchema, registerSchemas, topicCatalog, Topics, type RawRecordSchema, type TopicName } from '../src/index.js';

const url = process.env.SCHEMA_REGISTRY_URL;
const base = url?.endsWith('/') ? url : `${url}/`;

async function registryGet(path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(new URL(path, base));
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body };
}

async function deleteSubject(subject: string): Promise<void> {
  const path = `subjects/${encodeURIComponent(subject)}`;
  await fetch(new URL(path, base), { method: 'DELETE' }).catch(() => undefined);
  await fetch(new URL(`${path}?permanent=true`, base), { method: 'DELETE' }).catch(() => undefined);
}

describe('schema registry (integration)', { skip: url ? false : 'SCHEMA_REGISTRY_URL is not set' }, () => {
  const registry = new SchemaRegistry({ host: url ?? 'http://unset', clientId: 'llmgov-contracts-it' });
  let ids = new Map<TopicName, number>();

  before(async () => {
    ids = await registerSchemas(registry, { registryUrl: url });
  });

  it('registers every topic under <topic>-value with BACKWARD, idempotently', async () => {
    assert.equal(ids.size, topicCatalog.length);
    const again = await registerSchemas(registry, { registryUrl: url });
    assert.deepEqual([...again], [...ids], 'registering unchanged schemas returns the same ids');

    const { body: subjects } = await registryGet('subjects');
    assert.ok(Array.isArray(subjects));
    for (const spec of topicCatalog) {
      assert.ok(subjects.includes(spec.subject), `${spec.subject} is not registered`);
      assert.equal(await registry.getLatestSchemaId(spec.subject), ids.get(spec.name));
      const { status, body } = await registryGet(`config/${encodeURIComponent(spec.subject)}`);
      assert.equal(status, 200);
      assert.equal((body as { compatibilityLevel?: string }).compatibilityLevel, 'BACKWARD', spec.subject);
    }
    assert.ok(!subjects.includes('com.llmgov.jobs.JobStatusChanged'), 'no subject named after the record (client default)');
    assert.equal(ids.get(Topics.inferenceRoutedS), ids.get(Topics.inferenceRoutedL), 'routed topics share one schema id');
  });

  it('encodes a fixture of every topic with the registry client and decodes it back', async () => {
    for (const spec of topicCatalog) {
      const id = ids.get(spec.name)!;
      const [fixture] = fixturesFor(spec.schemaName).valid;
      assert.ok(fixture, `${spec.schemaName} has a valid fixture`);
      const bytes = await registry.encode(id, fixture.value);
      assert.equal(bytes[0], 0, 'Confluent magic byte');
      assert.equal(bytes.readInt32BE(1), id, 'schema id in the header');
      const decoded: unknown = await registry.decode(bytes);
      assert.deepEqual(structuredClone(decoded), fixture.value, `${spec.name}: ${fixture.file}`);
    }
  });

  it('refuses to encode an invalid fixture, naming the bad path', async () => {
    const id = ids.get(Topics.jobStatus)!;
    const bad = fixturesFor('jobs.job.status.v1').invalid.find((f) => f.file === 'invalid-bad-enum-state.json')!;
    await assert.rejects(registry.encode(id, bad.value), (err: Error & { paths?: string[][] }) => {
      assert.equal(err.name, 'ConfluentSchemaRegistryValidationError');
      assert.deepEqual(err.paths, [['state']]);
      return true;
    });
  });

  it('fails to decode a record whose schema id is unknown, with a clear error', async () => {
    const unknownId = 2_000_000_000 + Math.floor(Math.random() * 100_000_000);
    const body = (await registry.encode(ids.get(Topics.jobStatus)!, fixturesFor('jobs.job.status.v1').valid[0]!.value)).subarray(5);
    const header = Buffer.alloc(5);
    header.writeInt32BE(unknownId, 1);
    await assert.rejects(registry.decode(Buffer.concat([header, body])), (err: Error & { status?: number }) => {
      assert.equal(err.status, 404, `expected 404, got ${err.status}: ${err.message}`);
      // Confluent: "Schema <id> not found"; Apicurio: "No content with id/hash 'contentId-<id>' was found".
      assert.ok(err.message.includes(String(unknownId)) || /not found/i.test(err.message), err.message);
      return true;
    });
  });

  describe('compatibility enforcement (throw-away subject)', () => {
    const prefix = `contracts-it-${randomUUID().slice(0, 8)}.`;
    const subject = `${prefix}${Topics.jobStatus}-value`;
    const base = rawSchema('jobs.job.status.v1');

    after(() => deleteSubject(subject));

    it('rejects an incompatible change and accepts a compatible one', async () => {
      // Without registryUrl: the client sets BACKWARD itself on the subject's first registration.
      const first = await registerSchemas(registry, { topics: [Topics.jobStatus], subjectPrefix: prefix });
      assert.ok(first.get(Topics.jobStatus));
      const config = await registryGet(`config/${encodeURIComponent(subject)}`);
      assert.equal((config.body as { compatibilityLevel?: string }).compatibilityLevel, 'BACKWARD');

      const incompatible: RawRecordSchema = structuredClone(base);
      incompatible.fields.push({ name: 'priority', type: 'int', doc: 'Required field without a default: old data cannot be read.' });
      assert.equal(checkBackwardCompatible(incompatible, base).compatible, false, 'the local check agrees');
      await assert.rejects(registry.register(incompatible, { subject }), (err: Error & { status?: number }) => {
        assert.equal(err.status, 409, `expected 409, got ${err.status}: ${err.message}`);
        return true;
      });

      const compatible: RawRecordSchema = structuredClone(base);
      compatible.fields.push({ name: 'priority', type: ['null', 'int'], default: null, doc: 'Optional, defaults to null.' });
      assert.equal(checkBackwardCompatible(compatible, base).compatible, true);
      const { id } = await registry.register(compatible, { subject });
      assert.notEqual(id, first.get(Topics.jobStatus));
      assert.equal(await registry.getLatestSchemaId(subject), id);
    });
  });
});
