import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { RetriableError, ValidationError } from '@llmgov/errors';
import { ZodError } from 'zod';
import { createLogger } from '@llmgov/observability';

interface HttpResponse {
  status(code: number): HttpResponse;
  json(body: unknown): void;
}

/**
 * Maps errors to JSON bodies of the form `{ error: { code, message, reasons? } }`:
 * ValidationError and zod errors -> 400 with every reason; body-parser errors keep their status
 * (400 malformed JSON, 413 too large, 415 wrong charset); HttpExceptions keep theirs, with the `code` and
 * `message` of an object response when they have one; a RetriableError (a dependency such as Postgres is down)
 * -> 503 `unavailable`; anything else -> 500.
 */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  /** Logs what a 500 hides from the caller (the log is the only place its cause is seen). */
  private readonly logger = createLogger('ingest-validator', process.env['LOG_LEVEL'] ?? 'info');

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<HttpResponse>();
    if (err instanceof ValidationError) {
      res.status(400).json({ error: { code: err.code, message: 'request failed validation', reasons: err.reasons } });
      return;
    }
    if (err instanceof ZodError) {
      const reasons = err.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      res.status(400).json({ error: { code: 'invalid_request', message: 'request body does not match the API', reasons } });
      return;
    }
    if (err instanceof HttpException) {
      const status = err.getStatus();
      const body = err.getResponse() as { code?: unknown; message?: unknown };
      const own = typeof body === 'object' && typeof body.code === 'string' && typeof body.message === 'string';
      res.status(status).json({ error: own ? { code: body.code, message: body.message } : { code: codeFor(status), message: err.message } });
      return;
    }
    if (err instanceof RetriableError) {
      res.status(503).json({ error: { code: 'unavailable', message: 'a dependency of the API is unavailable; retry later' } });
      return;
    }
    const bodyParser = err as { status?: number; type?: string; message?: string };
    if (typeof bodyParser?.status === 'number' && bodyParser.status >= 400 && bodyParser.status < 500) {
      const message =
        bodyParser.type === 'entity.parse.failed'
          ? 'malformed JSON body'
          : bodyParser.type === 'entity.too.large'
            ? 'request body is too large'
            : (bodyParser.message ?? 'bad request');
      res.status(bodyParser.status).json({ error: { code: bodyParser.type ?? codeFor(bodyParser.status), message } });
      return;
    }
    this.logger.error({ err }, 'unexpected error answered with 500');
    res.status(500).json({ error: { code: 'internal_error', message: 'internal error' } });
  }
}

function codeFor(status: number): string {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 422:
      return 'unprocessable_entity';
    case 503:
      return 'unavailable';
    default:
      return `http_${status}`;
  }
}
