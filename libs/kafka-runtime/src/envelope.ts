import { randomUUID } from 'node:crypto';
import { v5 } from 'uuid';

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

/** Namespace of the platform's deterministic event ids (a fixed random UUID chosen once for this project). */
export const EVENT_ID_NAMESPACE = 'eee45f2e-0391-4c1d-bb9d-67ccfb397f5e';

/**
 * A deterministic event id: the name-based UUID version 5 (RFC 9562 section 5.5, by the `uuid` package) of `parts`
 * joined by ':' in EVENT_ID_NAMESPACE. Use it where a redelivered input must produce the same output event, so
 * consumers that deduplicate by `event_id` (the cost ledger, labels) count it once.
 */
export function deterministicEventId(...parts: string[]): string {
  return v5(parts.join(':'), EVENT_ID_NAMESPACE);
}
