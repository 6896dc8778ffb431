import {
  PolicyLookupError,
  evaluateCanary,
  resolveRoute,
  windowStats,
  type CanarySettings,
  type CanaryVerdict,
  type PolicyDocument,
  type RouteSlo,
  type SlidingWindows,
} from '@llmgov/policy';

/** The canary under assessment: its version and document, and the stable version's. */
export interface CanaryUnderTest {
  stableVersion: number;
  stableDocument: PolicyDocument;
  canaryVersion: number;
  canaryDocument: PolicyDocument;
  settings: Required<CanarySettings>;
}

/**
 * The route's SLO as the canary version binds it (its SLO class's p95_latency_ms and min_quality); undefined when the
 * canary's policy does not know the tenant or route (such samples still count in the version-wide comparison).
 */
export function routeSlo(doc: PolicyDocument, tenant: string, route: string | null): RouteSlo | undefined {
  try {
    const r = resolveRoute(doc, tenant, route);
    return { tenant, route, p95LatencyMs: r.sloClass.p95_latency_ms, minQuality: r.sloClass.min_quality };
  } catch (err) {
    if (err instanceof PolicyLookupError) return undefined;
    throw err;
  }
}

/**
 * Pure: the statistics of both versions over the window ending at `now` (version-wide and per route the canary
 * served), and the canary rule's verdict on them (`evaluateCanary`).
 */
export function assessCanary(
  windows: SlidingWindows,
  now: number,
  c: CanaryUnderTest,
): { verdict: CanaryVerdict; stable: ReturnType<typeof windowStats>; canary: ReturnType<typeof windowStats> } {
  const min = c.settings.min_samples;
  const stable = windowStats(windows.of(c.stableVersion, now), min);
  const canary = windowStats(windows.of(c.canaryVersion, now), min);
  const routes = windows.scopes(c.canaryVersion, now).flatMap((scope) => {
    const slo = routeSlo(c.canaryDocument, scope.tenant, scope.route);
    if (!slo) return [];
    return [{ slo, stable: windowStats(windows.of(c.stableVersion, now, scope), min), canary: windowStats(windows.of(c.canaryVersion, now, scope), min) }];
  });
  return { verdict: evaluateCanary({ settings: c.settings, stable, canary, routes }), stable, canary };
}
