import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { schemaNames, schemaVersions } from './generated/index.js';
import {
  avroTypeFor,
  avroTypeForSchema,
  checkBackwardCompatible,
  rawSchema,
  rawSchemaFor,
  registerSchemas,
  schemasDir,
  type AvroType,
  type RawRecordSchema,
} from './schemas.js';
import { topicCatalog, Topics } from './topics.js';

const ENVELOPE = [
  ['event_id', { type: 'string', logicalType: 'uuid' }],
  ['tenant_id', 'string'],
  ['occurred_at', { type: 'long', logicalType: 'timestamp-millis' }],
  ['schema_version', 'int'],
  ['correlation_id', 'string'],
] as const;

const clone = <T>(v: T): T => structuredClone(v);

/** Every named type (record, enum, fixed) reachable from `type`, by full name. */
function namedTypes(type: AvroType, out = new Map<string, AvroType>()): Map<string, AvroType> {
  const t = type as AvroType & {
    name?: string;
    fields?: Array<{ type: AvroType }>;
    types?: AvroType[];
    itemsType?: AvroType;
    valuesType?: AvroType;
  };
  if (t.name) {
    if (out.has(t.name)) return out;
    out.set(t.name, type);
  }
  for (const f of t.fields ?? []) namedTypes(f.type, out);
  for (const b of t.types ?? []) namedTypes(b, out);
  if (t.itemsType) namedTypes(t.itemsType, out);
  if (t.valuesType) namedTypes(t.valuesType, out);
  return out;
}

describe('schemas', () => {
  it('finds the repository schemas/ directory from the compiled file', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    assert.equal(schemasDir(), resolve(here, '../../../../schemas'));
  });

  for (const name of schemaNames) {
    describe(name, () => {
      const raw = rawSchema(name);

      it('is a record in namespace com.llmgov.<domain of the file name>', () => {
        assert.equal(raw.type, 'record');
        assert.equal(raw.namespace, `com.llmgov.${name.split('.')[0]}`);
        assert.match(raw.name, /^[A-Z][A-Za-z0-9]+$/);
      });

      it('has one schema_version per kept earlier version, and reads every earlier version (BACKWARD)', () => {
        const history = join(schemasDir(), 'history');
        const earlier = existsSync(history) ? readdirSync(history).filter((f) => f.startsWith(`${name}.sv`) && f.endsWith('.avsc')) : [];
        assert.equal(schemaVersions[name], earlier.length + 1);
        for (const f of earlier) {
          const previous = JSON.parse(readFileSync(join(history, f), 'utf8')) as RawRecordSchema;
          const result = checkBackwardCompatible(raw, previous);
          assert.ok(result.compatible, `${name} cannot read ${f}: ${result.compatible ? '' : result.reason}`);
        }
      });

      it('starts with the envelope fields, in order', () => {
        const head = raw.fields.slice(0, ENVELOPE.length).map((f) => [f.name, f.type]);
        assert.deepEqual(head, ENVELOPE);
      });

      it('documents the record and every field, nested ones included', () => {
        const missing: string[] = [];
        const visit = (s: unknown, path: string): void => {
          if (Array.isArray(s)) return s.forEach((b, i) => visit(b, `${path}|${i}`));
          if (!s || typeof s !== 'object') return;
          const o = s as { type?: unknown; doc?: string; fields?: RawRecordSchema['fields']; items?: unknown; values?: unknown; name?: string };
          if ((o.type === 'record' || o.type === 'enum') && !o.doc) missing.push(`${path} (${o.name})`);
          for (const f of o.fields ?? []) {
            if (!f.doc) missing.push(`${path}.${f.name}`);
            visit(f.type, `${path}.${f.name}`);
          }
          if (o.items) visit(o.items, `${path}[]`);
          if (o.values) visit(o.values, `${path}{}`);
        };
        visit(raw, raw.name);
        assert.deepEqual(missing, []);
      });

      it('gives every nullable field the default null', () => {
        for (const f of raw.fields) {
          if (Array.isArray(f.type) && f.type.includes('null')) {
            assert.equal(f.type[0], 'null', `${f.name}: null must be the first branch`);
            assert.equal(f.default, null, `${f.name}: nullable field without default null`);
          }
        }
      });

      it('is BACKWARD compatible with itself', () => {
        assert.deepEqual(checkBackwardCompatible(raw, raw), { compatible: true });
      });
    });
  }

  it('defines a named type shared by several schemas identically everywhere', () => {
    const seen = new Map<string, { schema: string; json: string }>();
    for (const name of schemaNames) {
      for (const [fullName, type] of namedTypes(avroTypeForSchema(name))) {
        const json = JSON.stringify(type.schema({ exportAttrs: true }));
        const prev = seen.get(fullName);
        if (prev) assert.equal(json, prev.json, `${fullName} differs between ${prev.schema} and ${name}`);
        else seen.set(fullName, { schema: name, json });
      }
    }
    assert.ok(seen.has('com.llmgov.inference.Tier'));
  });

  it('gives every topic an avsc type that matches its schema', () => {
    for (const spec of topicCatalog) {
      assert.equal(avroTypeFor(spec.name).name, `${rawSchemaFor(spec.name).namespace}.${rawSchemaFor(spec.name).name}`);
    }
    assert.equal(avroTypeFor(Topics.inferenceRoutedS), avroTypeFor(Topics.inferenceRoutedL), 'routed topics share one cached type');
  });
});

describe(checkBackwardCompatible.name, () => {
  const base = rawSchema('jobs.job.status.v1');

  it('accepts a new optional field with a default', () => {
    const next = clone(base);
    next.fields.push({ name: 'progress', type: ['null', 'double'], default: null, doc: 'Fraction done (0..1).' });
    assert.deepEqual(checkBackwardCompatible(next, base), { compatible: true });
  });

  it('accepts a new enum symbol and an int promoted to long', () => {
    const next = clone(base);
    const state = next.fields.find((f) => f.name === 'state')!;
    (state.type as { symbols: string[] }).symbols.push('paused');
    next.fields.find((f) => f.name === 'schema_version')!.type = 'long';
    assert.deepEqual(checkBackwardCompatible(next, base), { compatible: true });
  });

  it('rejects a new field without a default', () => {
    const next = clone(base);
    next.fields.push({ name: 'progress', type: 'double', doc: 'Fraction done (0..1).' });
    const res = checkBackwardCompatible(next, base);
    assert.equal(res.compatible, false);
    assert.match((res as { reason: string }).reason, /progress/);
  });

  it('rejects a removed enum symbol', () => {
    const next = clone(base);
    const state = next.fields.find((f) => f.name === 'state')!;
    (state.type as { symbols: string[] }).symbols = ['validating', 'in_progress', 'completed', 'failed'];
    assert.equal(checkBackwardCompatible(next, base).compatible, false);
  });

  it('rejects a changed field type', () => {
    const next = clone(base);
    next.fields.find((f) => f.name === 'stage')!.type = 'int';
    assert.equal(checkBackwardCompatible(next, base).compatible, false);
  });

  it('takes avsc types as well as raw schemas', () => {
    const t = avroTypeForSchema('billing.cost.recorded.v1');
    assert.deepEqual(checkBackwardCompatible(t, t), { compatible: true });
  });
});

describe(registerSchemas.name, () => {
  /** A stand-in for the registry client that records what it was asked to register. */
  function fakeRegistry() {
    const calls: Array<{ subject: string; compatibility: unknown; name: string }> = [];
    const ids = new Map<string, number>();
    const registry = {
      async register(schema: RawRecordSchema, opts: { subject: string; compatibility: unknown }) {
        calls.push({ subject: opts.subject, compatibility: opts.compatibility, name: `${schema.namespace}.${schema.name}` });
        const key = JSON.stringify(schema);
        if (!ids.has(key)) ids.set(key, ids.size + 1);
        return { id: ids.get(key)! };
      },
    };
    return { registry: registry as unknown as SchemaRegistry, calls };
  }

  it('registers every topic under its explicit <topic>-value subject with BACKWARD', async () => {
    const { registry, calls } = fakeRegistry();
    const ids = await registerSchemas(registry);
    assert.equal(ids.size, topicCatalog.length);
    assert.deepEqual(
      calls.map((c) => c.subject),
      topicCatalog.map((s) => `${s.name}-value`),
    );
    assert.ok(calls.every((c) => c.compatibility === 'BACKWARD'));
    assert.equal(ids.get(Topics.inferenceRoutedS), ids.get(Topics.inferenceRoutedM), 'one schema, one id');
    assert.notEqual(ids.get(Topics.inferenceRoutedS), ids.get(Topics.inferenceCompleted));
  });

  it('honours a subject prefix and a topic subset', async () => {
    const { registry, calls } = fakeRegistry();
    const ids = await registerSchemas(registry, { topics: [Topics.jobStatus], subjectPrefix: 'test-1.' });
    assert.deepEqual([...ids.keys()], [Topics.jobStatus]);
    assert.deepEqual(calls, [{ subject: 'test-1.jobs.job.status.v1-value', compatibility: 'BACKWARD', name: 'com.llmgov.jobs.JobStatusChanged' }]);
  });

  it('PUTs BACKWARD on each subject config first when given the registry URL', async () => {
    const puts: Array<{ url: string; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        puts.push({ url: `${req.method} ${req.url}`, body });
        res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
        res.end(body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { registry } = fakeRegistry();
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await registerSchemas(registry, { topics: [Topics.inferenceRoutedS], registryUrl: url });
      assert.deepEqual(puts, [{ url: 'PUT /config/inference.request.routed.s.v1-value', body: '{"compatibility":"BACKWARD"}' }]);
    } finally {
      server.close();
    }
  });
});

describe('generated types', () => {
  it('are up to date with schemas/*.avsc (npm run check:generated)', () => {
    const script = join(dirname(fileURLToPath(import.meta.url)), '../../scripts/generate.mjs');
    const res = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    assert.equal(res.status, 0, `${res.stdout}\n${res.stderr}`);
  });
});
