import type { PolicyDocument, PolicyRoute, PolicyTenant, SloClass } from './schema.js';

/**
 * A request's own budget, as the submitted request carries it (`inference.request.submitted.v1` `budget`):
 * `latency_ms` (end-to-end, ms), `max_cost_usd` (USD), `min_quality` (0..1). Every field is optional: a missing one
 * leaves the route class's figure in force.
 */
export interface RequestBudget {
  latency_ms?: number | null;
  max_cost_usd?: number | null;
  min_quality?: number | null;
}

/** The SLO fields a request's budget may tighten. */
export type TightenableField = 'p95_latency_ms' | 'max_cost_usd' | 'min_quality';

export interface EffectiveSlo {
  /** The SLO in force for the request: the class's, with any field the request tightened replaced. */
  slo: SloClass;
  /** The fields the request's budget made stricter than the class's, in the order p95_latency_ms, max_cost_usd, min_quality. */
  tightened: TightenableField[];
  /** Request budget values that are not budgets (NaN, infinite, negative, quality above 1) and were ignored, with why. */
  ignored: { field: keyof RequestBudget; value: number; reason: string }[];
}

/**
 * Resolves a request's effective SLO: its own budget may tighten the route class's budget, never loosen it.
 * - latency: min(class p95_latency_ms, request latency_ms);
 * - cost: min(class max_cost_usd, request max_cost_usd);
 * - quality: max(class min_quality, request min_quality).
 * A value that is not a budget (not finite, negative, or a quality above 1) is ignored and reported in `ignored`, so
 * a malformed request can only ever get the class's budget. Tiers, RAG and cache permissions come from the class alone.
 * Pure; the class object is not modified.
 */
export function effectiveSlo(cls: SloClass, request: RequestBudget | null | undefined): EffectiveSlo {
  const slo: SloClass = { ...cls, allowed_tiers: [...cls.allowed_tiers] };
  const tightened: TightenableField[] = [];
  const ignored: EffectiveSlo['ignored'] = [];
  const usable = (field: keyof RequestBudget, max = Infinity): number | undefined => {
    const value = request?.[field];
    if (value === undefined || value === null) return undefined;
    if (!Number.isFinite(value) || value < 0 || value > max) {
      ignored.push({ field, value, reason: `not a budget: expected a finite number in [0, ${max}]` });
      return undefined;
    }
    return value === 0 ? 0 : value; // -0 (a valid IEEE 754 zero) becomes 0, so the SLO never depends on which zero came first
  };
  const latency = usable('latency_ms');
  if (latency !== undefined && latency < slo.p95_latency_ms) {
    slo.p95_latency_ms = latency;
    tightened.push('p95_latency_ms');
  }
  const cost = usable('max_cost_usd');
  if (cost !== undefined && cost < slo.max_cost_usd) {
    slo.max_cost_usd = cost;
    tightened.push('max_cost_usd');
  }
  const quality = usable('min_quality', 1);
  if (quality !== undefined && quality > slo.min_quality) {
    slo.min_quality = quality;
    tightened.push('min_quality');
  }
  return { slo, tightened, ignored };
}

/** Why a request could not be bound to a route of the policy. */
export class PolicyLookupError extends Error {
  override readonly name = 'PolicyLookupError';
  constructor(
    readonly code: 'unknown_tenant' | 'unknown_route',
    message: string,
  ) {
    super(message);
  }
}

export interface ResolvedRoute {
  tenantId: string;
  tenant: PolicyTenant;
  /** The route's name: the request's, or the tenant's default_route when the request names none. */
  routeName: string;
  route: PolicyRoute;
  /** True when the request named no route and the tenant's default was used. */
  defaulted: boolean;
  sloClassName: string;
  sloClass: SloClass;
}

/**
 * Binds a request to its route: the route it names, else its tenant's `default_route`.
 * @throws PolicyLookupError `unknown_tenant` when the policy has no such tenant, `unknown_route` when the tenant has no
 *   such route (a request naming a route that does not exist is refused, not silently defaulted).
 */
export function resolveRoute(policy: PolicyDocument, tenantId: string, routeName?: string | null): ResolvedRoute {
  const tenant = Object.hasOwn(policy.tenants, tenantId) ? policy.tenants[tenantId] : undefined;
  if (!tenant) throw new PolicyLookupError('unknown_tenant', `tenant ${tenantId} is not in the policy`);
  const defaulted = routeName === undefined || routeName === null || routeName === '';
  const name = defaulted ? tenant.default_route : routeName;
  const route = Object.hasOwn(tenant.routes, name) ? tenant.routes[name] : undefined;
  if (!route) throw new PolicyLookupError('unknown_route', `tenant ${tenantId} has no route ${name}`);
  // The schema guarantees that the class exists (checkReferences); a document built by hand may not.
  const sloClass = Object.hasOwn(policy.slo_classes, route.slo_class) ? policy.slo_classes[route.slo_class] : undefined;
  if (!sloClass)
    throw new PolicyLookupError('unknown_route', `route ${name} of tenant ${tenantId} names SLO class ${route.slo_class}, which is not in the policy`);
  return { tenantId, tenant, routeName: name, route, defaulted, sloClassName: route.slo_class, sloClass };
}
