import type { IHeaders } from 'kafkajs';

/** Kafka headers as plain strings (the first value when a header repeats; UTF-8 decoded). */
export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first === undefined) continue;
    out[k] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

/** DLQ provenance header names (Spring Kafka's `kafka_dlt-*` headers carry the same facts). */
export const DlqHeaders = {
  sourceTopic: 'dlq.source.topic',
  sourcePartition: 'dlq.source.partition',
  sourceOffset: 'dlq.source.offset',
  errorClass: 'dlq.error.class',
  errorCode: 'dlq.error.code',
  errorMessage: 'dlq.error.message',
  attempts: 'dlq.attempts',
  service: 'dlq.service',
  time: 'dlq.time',
  /** The cause class (`@llmgov/errors` DeadLetterCause: schema, validation, engine, budget, guardrail, dependency, bug). */
  cause: 'dlq.cause',
} as const;

/** Headers a redriven dead letter carries on its source topic (the `dlq.*` headers are stripped). */
export const RedriveHeaders = {
  /** The redrive run (UUID) that republished the record. */
  id: 'redrive.id',
  /** How many times the record was redriven (1 on the first redrive); automatic redrive stops at a cap. */
  count: 'redrive.count',
  /** The record's original event id (the value's `event_id`, when it decodes): the idempotency key. */
  eventId: 'redrive.event_id',
  /** Where it was redriven from: `<dlq topic>/<partition>/<offset>`. */
  from: 'redrive.from',
} as const;
