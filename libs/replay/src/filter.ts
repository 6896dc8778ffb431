import { ReplayInputError } from './errors.js';

/** Which records a replay republishes: all of them, or those of one tenant and/or one policy route. */
export interface RecordFilter {
  tenant?: string;
  route?: string;
}

const TENANT_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const ROUTE_RE = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Checks a filter's values (the tenant id pattern of libs/persistence's TENANT_ID_RE; a route name as the policy
 * names it) and, for --route, that the topic's values carry a `route` field at all.
 * @param topicFields the top-level field names of the topic's value schema
 * @throws ReplayInputError `invalid_filter`.
 */
export function checkFilter(filter: RecordFilter, topic: string, topicFields: readonly string[]): void {
  if (filter.tenant !== undefined && !TENANT_RE.test(filter.tenant))
    throw new ReplayInputError(`--tenant "${filter.tenant.slice(0, 80)}" is not a tenant id ([a-z0-9][a-z0-9_-]{0,63})`, 'invalid_filter');
  if (filter.route !== undefined) {
    if (!ROUTE_RE.test(filter.route)) throw new ReplayInputError(`--route "${filter.route.slice(0, 80)}" is not a route name`, 'invalid_filter');
    if (!topicFields.includes('route')) throw new ReplayInputError(`--route: the values of ${topic} carry no route field`, 'invalid_filter');
  }
}

/** The envelope and routing fields a replay reads from a decoded value. */
export interface RecordFacts {
  eventId: string | null;
  tenant: string | null;
  /** The value's `route`; null when it has none or it is null (the tenant's default route). */
  route: string | null;
}

/** The facts of a decoded value (any platform record: the envelope's event_id and tenant_id, and route where present). */
export function recordFacts(value: unknown): RecordFacts {
  const v = (value ?? {}) as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === 'string' ? x : null);
  return { eventId: str(v.event_id), tenant: str(v.tenant_id), route: str(v.route) };
}

/** True when the record passes the filter (a route filter never matches a record without a route). */
export function matchesFilter(facts: RecordFacts, filter: RecordFilter): boolean {
  if (filter.tenant !== undefined && facts.tenant !== filter.tenant) return false;
  if (filter.route !== undefined && facts.route !== filter.route) return false;
  return true;
}
