import { timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, UnauthorizedException, createParamDecorator, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { INGEST_CONFIG, type IngestConfig } from '../config.js';

interface AuthedRequest {
  headers: Record<string, string | string[] | undefined>;
  tenantId?: string;
}

/**
 * Authenticates `Authorization: Bearer <key>` (or `x-api-key: <key>`) against the per-tenant keys and
 * attaches the tenant to the request. Keys are compared in constant time.
 * @throws UnauthorizedException (401) when the key is missing or unknown.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: { key: Buffer; tenant: string }[];

  constructor(@Inject(INGEST_CONFIG) config: IngestConfig) {
    this.keys = [...config.API_KEYS].map(([key, tenant]) => ({ key: Buffer.from(key), tenant }));
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const auth = req.headers['authorization'];
    const header = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : req.headers['x-api-key'];
    if (typeof header !== 'string' || header.length === 0) throw new UnauthorizedException('missing API key: send Authorization: Bearer <key>');
    const given = Buffer.from(header);
    const match = this.keys.find((k) => k.key.length === given.length && timingSafeEqual(k.key, given));
    if (!match) throw new UnauthorizedException('unknown API key');
    req.tenantId = match.tenant;
    return true;
  }
}

/** The tenant authenticated by ApiKeyGuard. */
export const TenantId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const tenant = ctx.switchToHttp().getRequest<AuthedRequest>().tenantId;
  if (!tenant) throw new UnauthorizedException('no tenant on request');
  return tenant;
});
