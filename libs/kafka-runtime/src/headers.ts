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
} as const;
