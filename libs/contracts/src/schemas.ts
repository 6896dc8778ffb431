import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import type { SchemaName } from './generated/index.js';
import { topicCatalog, topicSpec, type TopicName } from './topics.js';

/** An Avro type as avsc builds it (encode, decode, validate, resolve). */
export type AvroType = avro.Type;

/** The JSON of a top-level record schema as stored in a schemas/*.avsc file. */
export interface RawRecordSchema {
  type: 'record';
  name: string;
  namespace?: string;
  doc?: string;
  fields: Array<{ name: string; type: unknown; doc?: string; default?: unknown; [attr: string]: unknown }>;
}

/** Environment variable that points at the schemas directory when the repo layout is not available (e.g. in an image). */
export const SCHEMAS_DIR_ENV = 'LLMGOV_SCHEMAS_DIR';

let cachedDir: string | undefined;

/**
 * The repository's `schemas/` directory: `$LLMGOV_SCHEMAS_DIR` when set, otherwise the nearest ancestor of this
 * compiled file (`libs/contracts/dist/src/`, or `libs/contracts/src/` when run from source) that holds a
 * `schemas/` folder with `.avsc` files.
 * @throws Error when no such directory exists.
 */
export function schemasDir(): string {
  if (cachedDir) return cachedDir;
  const fromEnv = process.env[SCHEMAS_DIR_ENV];
  if (fromEnv) {
    const dir = resolve(fromEnv);
    if (!hasAvsc(dir)) throw new Error(`${SCHEMAS_DIR_ENV}=${fromEnv} does not contain any .avsc file`);
    return (cachedDir = dir);
  }
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'schemas');
    if (hasAvsc(candidate)) return (cachedDir = candidate);
    if (dirname(dir) === dir) break;
  }
  throw new Error(`no schemas/ directory with .avsc files above ${start}; set ${SCHEMAS_DIR_ENV}`);
}

function hasAvsc(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory() && readdirSync(dir).some((f) => f.endsWith('.avsc'));
}

const rawCache = new Map<SchemaName, RawRecordSchema>();
const typeCache = new Map<SchemaName, AvroType>();

/** The parsed JSON of `schemas/<name>.avsc`. Cached; treat it as read-only. */
export function rawSchema(name: SchemaName): RawRecordSchema {
  let raw = rawCache.get(name);
  if (!raw) {
    const file = join(schemasDir(), `${name}.avsc`);
    raw = JSON.parse(readFileSync(file, 'utf8')) as RawRecordSchema;
    rawCache.set(name, raw);
  }
  return raw;
}

/** The parsed JSON of the value schema of `topic`. */
export function rawSchemaFor(topic: TopicName): RawRecordSchema {
  return rawSchema(topicSpec(topic).schemaName);
}

/** The avsc Type of schema `name`, built with avsc's defaults (the ones the registry client decodes with). Cached. */
export function avroTypeForSchema(name: SchemaName): AvroType {
  let type = typeCache.get(name);
  if (!type) {
    type = avro.Type.forSchema(rawSchema(name) as avro.Schema);
    typeCache.set(name, type);
  }
  return type;
}

/**
 * The avsc Type of `topic`'s value schema, for offline validation and encoding without a registry:
 * `avroTypeFor(t).isValid(v)`, `.toBuffer(v)`, `.fromBuffer(buf)`.
 */
export function avroTypeFor(topic: TopicName): AvroType {
  return avroTypeForSchema(topicSpec(topic).schemaName);
}

/** Result of {@link checkBackwardCompatible}. */
export type CompatibilityResult = { compatible: true } | { compatible: false; reason: string };

/**
 * BACKWARD check: can a consumer on `next` read data written with `previous`? Uses avsc's schema resolution
 * (the Avro spec's rules: new fields need defaults, removed enum symbols break old data, types must promote).
 * A local pre-flight before registering; the registry's own check stays authoritative.
 */
export function checkBackwardCompatible(next: RawRecordSchema | AvroType, previous: RawRecordSchema | AvroType): CompatibilityResult {
  try {
    const reader = next instanceof avro.Type ? next : avro.Type.forSchema(next as avro.Schema);
    const writer = previous instanceof avro.Type ? previous : avro.Type.forSchema(previous as avro.Schema);
    reader.createResolver(writer);
    return { compatible: true };
  } catch (err) {
    return { compatible: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/** Options of {@link registerSchemas}. */
export interface RegisterSchemasOptions {
  /** Topics to register (default: every topic of `topicCatalog`). */
  topics?: readonly TopicName[];
  /**
   * Prepended to every subject, e.g. `test-1a2b.` gives `test-1a2b.jobs.job.status.v1-value`.
   * Tests use a unique prefix so they never touch the real subjects. Default: none.
   */
  subjectPrefix?: string;
  /**
   * Base URL of the registry (the one the client was built with). When given, each subject's compatibility is
   * set to BACKWARD with `PUT /config/<subject>` before registering, which also corrects a subject that exists
   * with another level. Without it the client sets BACKWARD on a subject's first registration and throws
   * `ConfluentSchemaRegistryCompatibilityError` when an existing subject has another level.
   */
  registryUrl?: string;
  /** Extra headers for the `PUT /config` call (e.g. authorization). */
  headers?: Record<string, string>;
}

/**
 * Registers every topic's value schema under its explicit subject `<topic>-value` (never the client's
 * `namespace.name` default) with compatibility BACKWARD, and returns each topic's schema id. Idempotent:
 * registering an unchanged schema returns the existing id. The three routed topics share one schema, so they
 * get the same id under three subjects.
 * @throws the client's errors, e.g. `ConfluentSchemaRegistryError` with status 409 when a schema is not BACKWARD
 *         compatible with the latest version of its subject.
 */
export async function registerSchemas(registry: SchemaRegistry, opts: RegisterSchemasOptions = {}): Promise<Map<TopicName, number>> {
  const prefix = opts.subjectPrefix ?? '';
  const specs = opts.topics ? opts.topics.map((t) => topicSpec(t)) : topicCatalog;
  const ids = new Map<TopicName, number>();
  for (const spec of specs) {
    const subject = `${prefix}${spec.subject}`;
    if (opts.registryUrl) await putCompatibility(opts.registryUrl, subject, COMPATIBILITY.BACKWARD, opts.headers);
    const { id } = await registry.register(rawSchema(spec.schemaName), {
      subject,
      compatibility: COMPATIBILITY.BACKWARD,
    });
    ids.set(spec.name, id);
  }
  return ids;
}

async function putCompatibility(baseUrl: string, subject: string, compatibility: COMPATIBILITY, headers: Record<string, string> = {}): Promise<void> {
  const url = new URL(`config/${encodeURIComponent(subject)}`, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const res = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', ...headers },
    body: JSON.stringify({ compatibility }),
  });
  if (!res.ok) {
    throw new Error(`PUT ${url.pathname} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  }
}

/** One fixture file of a schema. */
export interface Fixture {
  /** File name, e.g. `valid-minimal.json`. */
  file: string;
  /** Parsed JSON: a plain object in the shape avsc's `isValid`/`toBuffer` take (unions unwrapped, longs as numbers). */
  value: unknown;
}

/**
 * The fixtures of schema `name` from `schemas/fixtures/<name>/`: `valid-*.json` values must encode,
 * `invalid-*.json` values must be rejected. Handy for other packages' tests that need a realistic record.
 */
export function fixturesFor(name: SchemaName): { valid: Fixture[]; invalid: Fixture[] } {
  const dir = join(schemasDir(), 'fixtures', name);
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
    : [];
  const load = (file: string): Fixture => ({ file, value: JSON.parse(readFileSync(join(dir, file), 'utf8')) });
  return {
    valid: files.filter((f) => f.startsWith('valid-')).map(load),
    invalid: files.filter((f) => f.startsWith('invalid-')).map(load),
  };
}
