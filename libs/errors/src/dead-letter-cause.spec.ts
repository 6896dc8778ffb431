import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEAD_LETTER_CAUSES, deadLetterCause, isDeadLetterCause } from './dead-letter-cause.js';
import { NonRetriableError, RetriableError, UndecodableRecordError, UnknownSchemaError, ValidationError, type ErrorCode } from './errors.js';

test('platform errors map to their cause class by code', () => {
  const cases: [unknown, string][] = [
    [new UndecodableRecordError('bad magic byte'), 'schema'],
    [new UnknownSchemaError(4242), 'schema'],
    [new ValidationError(['tenant_id is empty']), 'validation'],
    [new ValidationError(['bad usage'], 'invalid_usage'), 'validation'],
    [new ValidationError(['other tenant'], 'tenant_mismatch'), 'validation'],
    [new NonRetriableError('engine said 500', 'engine_engine'), 'engine'],
    [new NonRetriableError('timed out', 'engine_timeout'), 'engine'],
    [new NonRetriableError('inference failed', 'inference_error'), 'engine'],
    [new RetriableError('embeddings down', 'embeddings_unavailable'), 'engine'],
    [new NonRetriableError('reservation refused', 'budget_exceeded'), 'budget'],
    [new NonRetriableError('deadline passed', 'deadline_exceeded'), 'budget'],
    [new NonRetriableError('blocked', 'guardrail_blocked'), 'guardrail'],
    [new RetriableError('redis: ECONNREFUSED', 'redis_unavailable'), 'dependency'],
    [new RetriableError('postgres: down', 'postgres_unavailable'), 'dependency'],
    [new RetriableError('registry: 503', 'registry_unavailable'), 'dependency'],
    [new RetriableError('qdrant down', 'vector_store_unavailable'), 'dependency'],
    [new RetriableError('retrieval down', 'retrieval_unavailable'), 'dependency'],
    [new RetriableError('blip'), 'dependency'],
    [new NonRetriableError('rule'), 'bug'],
  ];
  for (const [err, cause] of cases) assert.equal(deadLetterCause(err), cause, (err as Error).message);
});

test('error code strings read back from dlq.error.code map through the same table', () => {
  const codes: [ErrorCode, string][] = [
    ['undecodable', 'schema'],
    ['validation_failed', 'validation'],
    ['engine_rate_limit', 'engine'],
    ['redis_unavailable', 'dependency'],
    ['unexpected', 'bug'],
  ];
  for (const [code, cause] of codes) assert.equal(deadLetterCause(code), cause, code);
});

test('unknown and hostile errors are bugs', () => {
  // A subclass whose code is not a string at all (set after construction, as hostile code could).
  const hostileCode = new NonRetriableError('hostile');
  Object.defineProperty(hostileCode, 'code', { value: { toString: () => 'redis_unavailable' } });
  const hostile: unknown[] = [
    new Error('TypeError somewhere'),
    new TypeError('x is undefined'),
    { retriable: true }, // a plain object claiming to be retriable is not a dependency
    Object.assign(new Error('fake'), { name: 'NotKafka', retriable: true }),
    'no_such_code',
    '__proto__',
    'constructor',
    'toString',
    'engine_', // no source
    `engine_${'x'.repeat(500)}`,
    'engine_../../etc',
    '',
    null,
    undefined,
    42,
    Symbol('s'),
    hostileCode,
    Object.create(null),
  ];
  for (const h of hostile) assert.equal(deadLetterCause(h), 'bug', String(typeof h === 'symbol' ? h.toString() : JSON.stringify(h)));
});

test("kafkajs' own retriable errors are dependency failures (the broker); its non-retriable ones are bugs", () => {
  const retriable = Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError', retriable: true });
  const fatal = Object.assign(new Error('bad'), { name: 'KafkaJSNonRetriableError', retriable: false });
  assert.equal(deadLetterCause(retriable), 'dependency');
  assert.equal(deadLetterCause(fatal), 'bug');
});

test('every cause is recognised by isDeadLetterCause; other strings are not', () => {
  for (const c of DEAD_LETTER_CAUSES) assert.ok(isDeadLetterCause(c));
  for (const c of ['', 'Dependency', 'deps', '__proto__', 1, null]) assert.equal(isDeadLetterCause(c), false, String(c));
});
