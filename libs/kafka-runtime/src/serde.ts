import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { valueSubject } from '@llmgov/contracts';
import { RetriableError, UndecodableRecordError, UnknownSchemaError } from '@llmgov/errors';

/**
 * Avro serde through a Confluent-compatible schema registry (Confluent wire format:
 * magic byte 0, 4-byte big-endian schema id, Avro binary body).
 * Producers encode with the latest schema id registered under `<topic>-value`, cached per subject.
 */
export class AvroSerde {
  private readonly ids = new Map<string, Promise<number>>();

  constructor(readonly registry: SchemaRegistry) {}

  /**
   * Encodes `value` for `topic`.
   * @throws NonRetriable ConfluentSchemaRegistryValidationError when the value does not match the schema (a bug in the caller);
   *         RetriableError when the registry cannot be reached.
   */
  async encode(topic: string, value: unknown): Promise<Buffer> {
    const id = await this.schemaIdFor(topic);
    return this.registry.encode(id, value);
  }

  /** The latest schema id of `<topic>-value`, looked up once. */
  async schemaIdFor(topic: string): Promise<number> {
    const subject = valueSubject(topic);
    let id = this.ids.get(subject);
    if (!id) {
      id = this.registry.getLatestSchemaId(subject).catch((err: unknown) => {
        this.ids.delete(subject);
        throw classifyRegistryError(err, undefined, `cannot resolve schema id of subject ${subject}`);
      });
      this.ids.set(subject, id);
    }
    return id;
  }

  /**
   * Decodes a Confluent-framed Avro record.
   * @throws UndecodableRecordError (empty, truncated, wrong magic byte, corrupt body),
   *         UnknownSchemaError (id not in the registry), RetriableError (registry unreachable or 5xx).
   */
  async decode<T = unknown>(bytes: Buffer | null): Promise<T> {
    if (!bytes || bytes.length === 0) throw new UndecodableRecordError('record value is empty (null or zero bytes)');
    if (bytes.length < 5) throw new UndecodableRecordError(`record value is ${bytes.length} bytes, shorter than the 5-byte Confluent header`);
    if (bytes[0] !== 0) throw new UndecodableRecordError(`record value starts with magic byte ${bytes[0]}, expected 0 (Confluent wire format)`);
    const schemaId = bytes.readInt32BE(1);
    try {
      await this.registry.getSchema(schemaId);
    } catch (err) {
      throw classifyRegistryError(err, schemaId, `cannot fetch schema id ${schemaId}`);
    }
    try {
      return (await this.registry.decode(bytes)) as T;
    } catch (err) {
      throw new UndecodableRecordError(`record body does not decode with schema id ${schemaId}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function classifyRegistryError(err: unknown, schemaId: number | undefined, what: string): Error {
  const status = (err as { status?: number } | null)?.status;
  if (schemaId !== undefined && (status === 404 || status === 422 || /not found/i.test(String((err as Error)?.message)))) {
    return new UnknownSchemaError(schemaId, { cause: err });
  }
  if (schemaId === undefined && status === 404) {
    return new UndecodableRecordError(`${what}: subject is not registered (run the platform bootstrap)`, { cause: err });
  }
  return new RetriableError(`${what}: ${(err as Error)?.message ?? String(err)}`, 'registry_unavailable', { cause: err });
}

/** An AvroSerde on the registry at `url` (a Confluent-compatible API base, e.g. Apicurio's `/apis/ccompat/v7`), for tools. */
export function createAvroSerde(url: string): AvroSerde {
  return new AvroSerde(new SchemaRegistry({ host: url }));
}
