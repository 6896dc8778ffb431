import { createHash, randomUUID } from 'node:crypto';

/** The envelope fields every record value starts with (see schemas/README.md). */
export interface Envelope {
  event_id: string;
  tenant_id: string;
  /** Epoch milliseconds. */
  occurred_at: number;
  schema_version: number;
  correlation_id: string;
}

/** A fresh envelope: a random UUID v4 `event_id`, `occurred_at` now (ms), schema version 1 unless given. */
export function newEnvelope(tenantId: string, correlationId: string, schemaVersion = 1): Envelope {
  return {
    event_id: randomUUID(),
    tenant_id: tenantId,
    occurred_at: Date.now(),
    schema_version: schemaVersion,
    correlation_id: correlationId,
  };
}

/**
 * A deterministic event id: an RFC 4122 version-5-style UUID (SHA-1 name-based) of `parts` joined by ':'.
 * Use it where a redelivered input must produce the same output event, so downstream consumers that
 * deduplicate by `event_id` (the cost ledger, labels) count it once.
 */
export function deterministicEventId(...parts: string[]): string {
  const h = createHash('sha1').update('llmgov-event:').update(parts.join(':')).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
