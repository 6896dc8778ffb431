import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NotFoundException, UnprocessableEntityException, type ArgumentsHost } from '@nestjs/common';
import { RetriableError, ValidationError } from '@llmgov/errors';
import { z } from 'zod';
import { ApiErrorFilter } from './error.filter.js';

function answer(err: unknown): { status: number; body: { error: { code: string; message: string; reasons?: string[] } } } {
  const out = { status: 0, body: undefined as unknown };
  const res = {
    status(code: number) {
      out.status = code;
      return res;
    },
    json(body: unknown) {
      out.body = body;
    },
  };
  const host = { switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost;
  new ApiErrorFilter().catch(err, host);
  return out as { status: number; body: { error: { code: string; message: string; reasons?: string[] } } };
}

describe('ApiErrorFilter', () => {
  it('keeps the code and message of an HttpException with an object response', () => {
    const a = answer(new UnprocessableEntityException({ code: 'idempotency_key_reused', message: 'used before' }));
    assert.deepEqual(a, { status: 422, body: { error: { code: 'idempotency_key_reused', message: 'used before' } } });
  });

  it('maps other HttpExceptions by status', () => {
    assert.deepEqual(answer(new NotFoundException('job x not found')), { status: 404, body: { error: { code: 'not_found', message: 'job x not found' } } });
  });

  it('answers 503 unavailable (not 500) when a dependency is down', () => {
    const a = answer(new RetriableError('postgres: Connection terminated unexpectedly', 'postgres_unavailable'));
    assert.equal(a.status, 503);
    assert.equal(a.body.error.code, 'unavailable');
    assert.doesNotMatch(a.body.error.message, /Connection terminated/, 'internal details stay in the logs');
  });

  it('answers 400 with every reason for validation and schema errors', () => {
    assert.deepEqual(answer(new ValidationError(['a', 'b'])).body.error.reasons, ['a', 'b']);
    const zod = z.object({ prompt: z.string() }).safeParse({});
    assert.equal(answer(zod.error).status, 400);
  });

  it('keeps a body-parser 4xx and answers 500 only for the unexpected', () => {
    assert.equal(answer(Object.assign(new Error('too large'), { status: 413, type: 'entity.too.large' })).status, 413);
    assert.deepEqual(answer(new Error('boom')), { status: 500, body: { error: { code: 'internal_error', message: 'internal error' } } });
  });
});
