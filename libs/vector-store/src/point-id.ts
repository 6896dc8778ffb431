import { createHash } from 'node:crypto';

/**
 * Namespace UUID of chunk point ids (a fixed, randomly generated v4 UUID; never change it: every
 * stored point id is derived from it).
 */
export const CHUNK_POINT_NAMESPACE = '6f1c3a52-8f0e-4c1b-9d3e-2b7a5e4f9c10';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * Name-based UUID, version 5 (SHA-1), per RFC 9562 §5.5 (formerly RFC 4122 §4.3): SHA-1 over the
 * namespace's 16 bytes followed by the UTF-8 name; take the first 16 bytes, set the version nibble
 * to 5 and the variant bits to 10xx.
 */
export function uuidV5(name: string, namespace: string): string {
  if (!isUuid(namespace)) throw new TypeError(`namespace is not a UUID: ${namespace}`);
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The id of a chunk's point: a UUID v5 of (tenantId, chunkId). The pair is encoded as a JSON array
 * so no choice of separator can make ("a:b", "c") and ("a", "b:c") collide. Stable across
 * processes and re-deliveries, so upserts are idempotent, and different for every tenant, so one
 * tenant can never overwrite another's chunk.
 */
export function pointId(tenantId: string, chunkId: string): string {
  return uuidV5(JSON.stringify([tenantId, chunkId]), CHUNK_POINT_NAMESPACE);
}
