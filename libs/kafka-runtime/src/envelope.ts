import { randomUUID } from 'node:crypto';

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
