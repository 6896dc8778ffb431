import { validate as isValidUuid, v5 } from 'uuid';

/**
 * Namespace UUID of chunk point ids (a fixed, randomly generated v4 UUID; never change it: every
 * stored point id is derived from it).
 */
export const CHUNK_POINT_NAMESPACE = '6f1c3a52-8f0e-4c1b-9d3e-2b7a5e4f9c10';

/** True when `value` is a UUID string (uuid's validate). */
export function isUuid(value: string): boolean {
  return isValidUuid(value);
}

/**
 * Name-based UUID, version 5 (SHA-1, RFC 9562 §5.5), by the `uuid` package.
 * @throws TypeError when `namespace` is not a UUID.
 */
export function uuidV5(name: string, namespace: string): string {
  if (!isUuid(namespace)) throw new TypeError(`namespace is not a UUID: ${namespace}`);
  return v5(name, namespace);
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
