import { PlatformError, errorCode, isRetriable } from './errors.js';

/**
 * Why a record was dead-lettered, as a class an operator can act on (issue 12 §4), written to the DLQ header
 * `dlq.cause`:
 * - `schema`: the bytes do not decode (not Confluent-framed Avro, or a schema id the registry does not know);
 * - `validation`: the record decodes but breaks a contract or business rule;
 * - `engine`: a model or model endpoint (LLM engine, embeddings endpoint) failed for good;
 * - `budget`: a cost or latency budget refused the work;
 * - `guardrail`: a guardrail blocked it;
 * - `dependency`: a store the handler needs was down (Postgres, Redis, vector store, schema registry, Kafka): redrive
 *   once it is back;
 * - `bug`: anything unexpected (a non-platform error, an unknown code).
 */
export const DEAD_LETTER_CAUSES = ['schema', 'validation', 'engine', 'budget', 'guardrail', 'dependency', 'bug'] as const;
export type DeadLetterCause = (typeof DEAD_LETTER_CAUSES)[number];

/** True when `v` is one of {@link DEAD_LETTER_CAUSES} (e.g. a `--cause` argument or a `dlq.cause` header). */
export function isDeadLetterCause(v: unknown): v is DeadLetterCause {
  return typeof v === 'string' && (DEAD_LETTER_CAUSES as readonly string[]).includes(v);
}

/**
 * The one table from error code (`@llmgov/errors` ErrorCode, the `dlq.error.code` header) to cause. A Map, so that
 * hostile codes such as `__proto__` or `constructor` cannot hit an inherited property. Codes not listed are `bug`.
 * `deadline_exceeded` is the job's latency budget running out, hence `budget`; `retrieval_unavailable` is the
 * vector store (or the query embedding in front of it) failing, hence `dependency`; `embeddings_unavailable` is a
 * model endpoint, hence `engine`; `retriable` is a generic transient failure of something the handler depends on.
 */
const CAUSE_BY_CODE: ReadonlyMap<string, DeadLetterCause> = new Map<string, DeadLetterCause>([
  ['undecodable', 'schema'],
  ['unknown_schema', 'schema'],
  ['validation_failed', 'validation'],
  ['invalid_usage', 'validation'],
  ['tenant_mismatch', 'validation'],
  ['inference_error', 'engine'],
  ['embeddings_unavailable', 'engine'],
  ['budget_exceeded', 'budget'],
  ['deadline_exceeded', 'budget'],
  ['guardrail_blocked', 'guardrail'],
  ['postgres_unavailable', 'dependency'],
  ['redis_unavailable', 'dependency'],
  ['registry_unavailable', 'dependency'],
  ['vector_store_unavailable', 'dependency'],
  ['retrieval_unavailable', 'dependency'],
  ['retriable', 'dependency'],
  ['non_retriable', 'bug'],
  ['unexpected', 'bug'],
]);

/**
 * The cause class of a failure: of an error a handler threw, or of an error code string read back from a DLQ record
 * written before `dlq.cause` existed. `engine_*` codes (the LLM client's error sources) are `engine`. A non-platform
 * error is `bug`, except kafkajs' own retriable errors (name `KafkaJS…`, `retriable: true`), which are `dependency`
 * (the broker). Anything else (unknown codes, hostile objects, non-errors) is `bug`. Pure; never throws.
 */
export function deadLetterCause(errOrCode: unknown): DeadLetterCause {
  let code: unknown;
  if (typeof errOrCode === 'string') code = errOrCode;
  else if (errOrCode instanceof PlatformError) code = errorCode(errOrCode);
  else {
    const name = errOrCode instanceof Error ? errOrCode.name : undefined;
    return typeof name === 'string' && name.startsWith('KafkaJS') && isRetriable(errOrCode) ? 'dependency' : 'bug';
  }
  if (typeof code !== 'string') return 'bug'; // a subclass with a hostile `code`
  if (code.startsWith('engine_') && /^engine_[a-z0-9_]{1,40}$/.test(code)) return 'engine';
  return CAUSE_BY_CODE.get(code) ?? 'bug';
}
