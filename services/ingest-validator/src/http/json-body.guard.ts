import { Injectable, UnsupportedMediaTypeException, type CanActivate, type ExecutionContext } from '@nestjs/common';

/** `application/json` or a `+json` structured syntax suffix (RFC 6839), parameters (charset) ignored. */
const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json$/;

/**
 * Refuses a request body that is not JSON. Without this, a `text/plain` or form body is skipped by the JSON
 * body parser and reaches the handler as `undefined`, which would be reported as a schema mismatch.
 * @throws UnsupportedMediaTypeException (415) when `Content-Type` is missing or not JSON.
 */
@Injectable()
export class JsonBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>();
    const header = req.headers['content-type'];
    const mediaType = (typeof header === 'string' ? header : '').split(';')[0]!.trim().toLowerCase();
    if (!JSON_MEDIA_TYPE.test(mediaType)) throw new UnsupportedMediaTypeException('send the body as Content-Type: application/json');
    return true;
  }
}
