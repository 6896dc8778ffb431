import { ValidationError } from '@llmgov/errors';
import { billingPeriod, type BudgetPeriodKind } from '@llmgov/billing';

/**
 * A budget scope inside a tenant: the tenant itself, one of its teams, or one of its routes (the policy's named use
 * cases, such as `support-faq`). Every budget is per scope and per period (UTC day and month).
 */
export type BudgetScope = { kind: 'tenant' } | { kind: 'team' | 'route'; name: string };

/** Tenant ids as the platform issues them (the API keys' tenants): also the Redis hash tag of every budget key. */
export const TENANT_ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Reservation ids: letters, digits and `:._-`, up to 200 characters (e.g. `job:<uuid>:1`). */
export const RESERVATION_ID_RE = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,199}$/;
/** Longest team or route name, characters (as the usage events allow for team and feature). */
export const MAX_SCOPE_NAME_CHARS = 256;

/**
 * The scope's id as alerts and `llmgov budgets show` print it: `tenant`, `team:<name>`, `route:<name>` (the
 * BudgetAlert `scope` format). In Redis keys the name is URI-encoded ({@link scopeKeyPart}).
 */
export function scopeLabel(scope: BudgetScope): string {
  return scope.kind === 'tenant' ? 'tenant' : `${scope.kind}:${scope.name}`;
}

/** The scope as it appears in Redis keys: `tenant`, `team:<uri-encoded name>`, `route:<uri-encoded name>` (no spaces, no `|`). */
export function scopeKeyPart(scope: BudgetScope): string {
  return scope.kind === 'tenant' ? 'tenant' : `${scope.kind}:${encodeURIComponent(scope.name)}`;
}

/** Inverse of {@link scopeKeyPart}. @throws ValidationError for a part that no scope produces. */
export function parseScopeKeyPart(part: string): BudgetScope {
  if (part === 'tenant') return { kind: 'tenant' };
  const m = /^(team|route):(.+)$/.exec(part);
  if (!m) throw new ValidationError([`"${part.slice(0, 80)}" is not a budget scope`]);
  return { kind: m[1] as 'team' | 'route', name: decodeURIComponent(m[2]!) };
}

/** The period as it appears in counter keys: `day:YYYY-MM-DD` or `month:YYYY-MM`. */
export const periodKeyPart = (kind: BudgetPeriodKind, epochMs: number): string => `${kind}:${billingPeriod(kind, epochMs)}`;

/** Problems with a team or route name (empty when fine): 1-256 characters without control characters. */
export function scopeNameProblems(what: 'team' | 'route', name: string): string[] {
  // Control characters would make log lines and keys unreadable; the rest is URI-encoded in keys.
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > MAX_SCOPE_NAME_CHARS || /[\u0000-\u001f\u007f]/.test(name))
    return [`${what} must be 1-${MAX_SCOPE_NAME_CHARS} characters without control characters`];
  return [];
}

/**
 * The scopes a request falls under: the tenant, plus its team and route when it names them (empty or null: none).
 * @throws ValidationError naming every malformed id.
 */
export function requestScopes(tenant: string, team?: string | null, route?: string | null): BudgetScope[] {
  const problems: string[] = [];
  if (!TENANT_ID_RE.test(tenant)) problems.push('tenant must match [a-z0-9][a-z0-9_-]{0,63}');
  const scopes: BudgetScope[] = [{ kind: 'tenant' }];
  if (team != null && team !== '') {
    problems.push(...scopeNameProblems('team', team));
    scopes.push({ kind: 'team', name: team });
  }
  if (route != null && route !== '') {
    problems.push(...scopeNameProblems('route', route));
    scopes.push({ kind: 'route', name: route });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return scopes;
}

/**
 * Budget keys of one tenant. Every key carries the hash tag `{<tenant>}`, so all of a tenant's keys live in one Redis
 * Cluster slot and one Lua script may touch them all (the scripts build keys from this prefix).
 * - `budget:{T}:c:<scope>|<period>`: counter hash `{spent, reserved}`, micro-USD integers;
 * - `budget:{T}:r:<reservation id>`: reservation hash (state, amount, counters held, scopes, lease);
 * - `budget:{T}:leases`: sorted set of held reservation ids by lease expiry (epoch ms);
 * - `budget:{T}:scopes`: set of the scope key parts that ever had a counter;
 * - `budget:{T}:job:<job id>`: set of a job's reservation ids (release on the job's terminal state);
 * - `budget:{T}:limits`: hash `<scope>|<day|month>` → limit in micro-USD (RedisBudgetLimits, set by `llmgov budgets set`);
 * - `budget:{T}:alert:<scope>|<period>:<level>`: fire-once marker of a budget alert.
 * Outside the tenant slot: `budget:tenants`, the set of tenants with budget state (for the reconciler).
 */
export const BudgetKeys = {
  prefix: (tenant: string) => `budget:{${tenant}}:`,
  counter: (tenant: string, counter: string) => `budget:{${tenant}}:c:${counter}`,
  reservation: (tenant: string, reservationId: string) => `budget:{${tenant}}:r:${reservationId}`,
  leases: (tenant: string) => `budget:{${tenant}}:leases`,
  scopes: (tenant: string) => `budget:{${tenant}}:scopes`,
  limits: (tenant: string) => `budget:{${tenant}}:limits`,
  alert: (tenant: string, counter: string, level: string) => `budget:{${tenant}}:alert:${counter}:${level}`,
  tenants: 'budget:tenants',
} as const;

/** A counter id, `<scope key part>|<period key part>`, e.g. `team:search|day:2026-11-05`. */
export const counterId = (scopePart: string, periodPart: string): string => `${scopePart}|${periodPart}`;

/** Splits a counter id into its scope and period. @throws ValidationError for a malformed id. */
export function parseCounterId(id: string): { scope: BudgetScope; period: BudgetPeriodKind; periodId: string } {
  const m = /^(.+)\|(day|month):(\d{4}-\d{2}(?:-\d{2})?)$/.exec(id);
  if (!m) throw new ValidationError([`"${id.slice(0, 80)}" is not a budget counter id`]);
  return { scope: parseScopeKeyPart(m[1]!), period: m[2] as BudgetPeriodKind, periodId: m[3]! };
}

/** The reservation id of a job attempt's inference call: `job:<job_id>:<attempt>`. */
export const jobReservationId = (jobId: string, attempt: number): string => `job:${jobId}:${attempt}`;
/** The reservation id of a job attempt's LLM-judge call: `judge:<job_id>:<attempt>` (ADR 0007 "Judge calls"). */
export const judgeReservationId = (jobId: string, attempt: number): string => `judge:${jobId}:${attempt}`;
/** The settlement id of a usage event that had no reservation (a direct charge): `usage:<usage_event_id>`. */
export const usageChargeId = (usageEventId: string): string => `usage:${usageEventId}`;
