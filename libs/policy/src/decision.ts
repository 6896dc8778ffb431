import { projectedCostUsd } from './pricing.js';
import { TIERS, type DegradeStep, type PolicyDocument, type PolicyTier, type SloClass } from './schema.js';
import type { ResolvedRoute } from './slo.js';

/**
 * The routing decision of issue 10 as a pure function: request + classification + live signals + policy version in,
 * decision out, with the rule ids that fired. It never reads a clock, a store or the network, so it is unit-tested
 * exhaustively and can be re-run offline over recorded traffic. Its rules follow seed 002's decision logic:
 *
 * 0. A safety violation (guardrail score over its threshold) serves the route's template answer, else refuses.
 * 1. Complexity at or below the classifier's threshold and risk below its threshold: try the cache; a cached answer
 *    serves only when its judged quality meets the request's min_quality.
 * 2. A p95 latency budget under 800 ms: no RAG, and tier S when the class allows it.
 * 3. The projected worst-case cost (prompt + context + max_tokens at the tier's price) above the request's cost budget
 *    or the remaining spend budget: walk the degrade ladder (shrink the context, lower the tier, serve the cache, serve
 *    the template), else refuse with `budget_exceeded`.
 * 4. A tier whose requests queue (capacity exhausted) and whose expected queue wait plus service time would break the
 *    latency budget: reroute to the next allowed tier whose wait fits, else walk the degrade ladder, else queue (bounded
 *    by the job's deadline). A tier with an empty queue is never rerouted for its service time alone.
 *
 * Reason ids read `condition→action`, e.g. `latency_budget_lt_800ms→no_rag`; they are shown in the job's result and
 * counted in metrics.
 */

/** The seed's latency threshold for RAG, ms: under it retrieval does not fit the budget. */
export const NO_RAG_BELOW_LATENCY_MS = 800;

export interface DecisionRequest {
  /** Tokens of the prompt (system prompt included), as the router counts them. */
  promptTokens: number;
  /** The request's `max_tokens`: the worst case a reservation holds. */
  maxTokens: number;
  /** Whether the request asked for retrieval. */
  ragRequested: boolean;
  /** Tokens the retrieved context would add at full size (0 when not known yet or no RAG). */
  contextTokens: number;
  /** A tier the caller asked for; honoured when the class allows it. */
  tierHint: PolicyTier | null;
}

export interface DecisionClassification {
  intent: string;
  /** 0..1 */
  complexity: number;
  /** 0..1 */
  risk: number;
}

/** A cached answer the router found for the request (exact or semantic layer). */
export interface CachedAnswerSignal {
  layer: 'exact' | 'semantic';
  tier: PolicyTier;
  /** The judged quality of the cached answer, 0..1. */
  quality: number;
}

/** A tier's live capacity, from the inference workers' published saturation and consumer lag. */
export interface TierCapacitySignal {
  /** Expected wait before a new request starts on the tier, ms (lag / service rate). */
  queueWaitMs: number;
  /** Expected time to serve the request once started, ms. */
  serviceMs: number;
}

export interface DecisionSignals {
  cache: CachedAnswerSignal | null;
  /** Smallest remaining spend over the budgets the request falls under, USD; null when none applies. */
  budgetRemainingUsd: number | null;
  /** What the tightest budget does above its limit: degrade, or refuse at once. */
  budgetThrottle: 'degrade' | 'refuse';
  /** Capacity per tier; a tier without a signal is assumed to have room. */
  capacity: Partial<Record<PolicyTier, TierCapacitySignal>>;
  /** A guardrail score at or over its threshold (prompt injection, safety lexicon). */
  safetyViolation: boolean;
}

export interface DecisionInput {
  policy: PolicyDocument;
  policyVersion: number;
  route: ResolvedRoute;
  /** The effective SLO: the route's class tightened by the request's own budget (`effectiveSlo`). */
  slo: SloClass;
  request: DecisionRequest;
  classification: DecisionClassification | null;
  signals: DecisionSignals;
}

export type DecisionAction = 'serve_cache' | 'infer' | 'serve_template' | 'refuse';

export interface Decision {
  action: DecisionAction;
  /** The tier to infer on (`infer`), or the cached answer's tier (`serve_cache`); null otherwise. */
  tier: PolicyTier | null;
  /** Whether to retrieve context (only with `infer`). */
  rag: boolean;
  /** Token budget of the retrieved context, when it was shrunk; null = the retriever's default. */
  contextTokenBudget: number | null;
  /** Projected worst-case cost of the inference, USD (0 for cache, template and refusal; NaN when unknown). */
  projectedCostUsd: number;
  /** Job error code with `refuse`: budget_exceeded, safety_violation. */
  refusal: 'budget_exceeded' | 'safety_violation' | null;
  /** The rule ids that fired, in order. */
  reasons: string[];
  policyVersion: number;
  route: string;
}

const order = (t: PolicyTier): number => TIERS.indexOf(t);

/** Decides how to serve one request. Pure: the same input gives the same decision. */
export function decide(input: DecisionInput): Decision {
  const { policy, slo, request, classification, signals } = input;
  const reasons: string[] = [];
  const base = { policyVersion: input.policyVersion, route: input.route.routeName };
  const templateAnswer = input.route.route.template_answer;
  const ladder: readonly DegradeStep[] = input.route.route.degrade_ladder ?? policy.degrade.ladder;
  const done = (d: Omit<Decision, 'policyVersion' | 'route' | 'reasons'>): Decision => ({ ...d, reasons, ...base });
  const template = (): Decision => done({ action: 'serve_template', tier: null, rag: false, contextTokenBudget: null, projectedCostUsd: 0, refusal: null });
  const refuse = (refusal: NonNullable<Decision['refusal']>): Decision =>
    done({ action: 'refuse', tier: null, rag: false, contextTokenBudget: null, projectedCostUsd: 0, refusal });
  const serveCache = (c: CachedAnswerSignal): Decision =>
    done({ action: 'serve_cache', tier: c.tier, rag: false, contextTokenBudget: null, projectedCostUsd: 0, refusal: null });

  // 0. Guardrails.
  if (signals.safetyViolation) {
    if (templateAnswer !== undefined) {
      reasons.push('safety_violation→serve_template');
      return template();
    }
    reasons.push('safety_violation→refuse');
    return refuse('safety_violation');
  }

  // 1. The cache, for simple low-risk requests, when the answer met this request's quality bar.
  const lowRisk = classification === null || classification.risk < policy.classifier.risk_threshold;
  const simple = classification === null || classification.complexity <= policy.classifier.complexity_threshold;
  if (!slo.cache_allowed) reasons.push('cache_not_allowed→skip_cache');
  else if (!lowRisk) reasons.push('risk_ge_threshold→skip_cache');
  else if (!simple) reasons.push('complexity_gt_threshold→skip_cache');
  else if (signals.cache !== null) {
    if (signals.cache.quality >= slo.min_quality) {
      reasons.push(`${signals.cache.layer}_cache_hit_meets_quality→serve_cache`);
      return serveCache(signals.cache);
    }
    reasons.push(`${signals.cache.layer}_cache_hit_below_quality→skip_cache`);
  }
  const cacheUsable = slo.cache_allowed && lowRisk && signals.cache !== null;

  // 2. Latency: RAG and tier preference.
  const fastPath = slo.p95_latency_ms < NO_RAG_BELOW_LATENCY_MS;
  let rag = request.ragRequested;
  if (rag && !slo.rag_allowed) {
    rag = false;
    reasons.push('rag_not_allowed→no_rag');
  }
  if (rag && fastPath) {
    rag = false;
    reasons.push(`latency_budget_lt_${NO_RAG_BELOW_LATENCY_MS}ms→no_rag`);
  }
  const allowed = TIERS.filter((t) => slo.allowed_tiers.includes(t) && policy.tiers[t] !== undefined);
  if (allowed.length === 0) {
    // The schema makes every allowed tier a declared one; a hand-built document may not.
    reasons.push('no_declared_allowed_tier→refuse');
    return refuse('budget_exceeded');
  }
  let tier: PolicyTier;
  if (request.tierHint !== null && allowed.includes(request.tierHint)) {
    tier = request.tierHint;
    reasons.push(`tier_hint→${tier}`);
  } else if (fastPath && allowed.includes('S')) {
    tier = 'S';
    reasons.push(`latency_budget_lt_${NO_RAG_BELOW_LATENCY_MS}ms→prefer_S`);
  } else {
    const meeting = allowed.find((t) => (policy.tiers[t]?.expected_quality ?? -1) >= slo.min_quality);
    if (meeting !== undefined) {
      tier = meeting;
      reasons.push(`cheapest_tier_meeting_quality→${tier}`);
    } else {
      tier = allowed[allowed.length - 1]!;
      reasons.push(`no_tier_meets_quality→highest_allowed_${tier}`);
    }
  }

  // 3 and 4: cost and capacity, degrading along the ladder while either does not fit.
  let contextTokens = rag ? Math.max(0, request.contextTokens) : 0;
  let contextTokenBudget: number | null = null;
  const costLimit = Math.min(slo.max_cost_usd, signals.budgetRemainingUsd ?? Infinity);
  const projected = (t: PolicyTier): number => {
    const price = policy.tiers[t]!.price;
    try {
      return projectedCostUsd(price, { prompt_tokens: request.promptTokens + contextTokens, completion_tokens: request.maxTokens });
    } catch {
      return NaN; // a self-hosted price without throughputs: unknown, so the cost rule cannot fire
    }
  };
  const fitsCost = (t: PolicyTier): boolean => {
    const c = projected(t);
    return Number.isNaN(c) || c <= costLimit;
  };
  const waitMs = (t: PolicyTier): number => {
    const cap = signals.capacity[t];
    return cap === undefined ? 0 : cap.queueWaitMs + cap.serviceMs;
  };
  // Capacity is exhausted when requests wait in the tier's queue: only then does the wait count against the budget. A
  // tier with no queue is served even when its service time alone exceeds the budget: no other tier or wait would
  // do better by waiting, and an SLO the model cannot meet shows in the SLO metrics instead of as template answers.
  const fitsCapacity = (t: PolicyTier): boolean => (signals.capacity[t]?.queueWaitMs ?? 0) <= 0 || waitMs(t) <= slo.p95_latency_ms;

  if (signals.budgetRemainingUsd !== null && signals.budgetRemainingUsd <= 0 && signals.budgetThrottle === 'refuse') {
    reasons.push('budget_spent→refuse');
    return refuse('budget_exceeded');
  }
  if (Number.isNaN(projected(tier))) reasons.push('projected_cost_unknown→no_cost_rule');

  if (!fitsCapacity(tier)) {
    // Reroute within the SLO: the next allowed tier (up first, then down) that fits capacity and cost.
    const candidates = [...allowed.filter((t) => order(t) > order(tier)), ...allowed.filter((t) => order(t) < order(tier)).reverse()];
    const other = candidates.find((t) => fitsCapacity(t) && fitsCost(t));
    if (other !== undefined) {
      reasons.push(`capacity_wait_over_budget_${tier}→reroute_${other}`);
      tier = other;
    }
  }

  for (const step of ladder) {
    const costOk = fitsCost(tier);
    const capacityOk = fitsCapacity(tier);
    if (costOk && capacityOk) break;
    const why = costOk ? `capacity_wait_over_budget_${tier}` : 'projected_cost_over_budget';
    if (step === 'shrink_context') {
      if (!costOk && rag && contextTokens > policy.degrade.shrink_context_max_tokens) {
        contextTokens = policy.degrade.shrink_context_max_tokens;
        contextTokenBudget = contextTokens;
        reasons.push(`${why}→shrink_context`);
      }
    } else if (step === 'lower_tier') {
      const lower = allowed.filter((t) => order(t) < order(tier)).reverse();
      const fitting = lower.find((t) => fitsCost(t) && fitsCapacity(t)) ?? lower.find((t) => (costOk ? fitsCapacity(t) : fitsCost(t)));
      if (fitting !== undefined) {
        reasons.push(`${why}→lower_tier_${fitting}`);
        tier = fitting;
      }
    } else if (step === 'serve_cache') {
      if (cacheUsable) {
        reasons.push(`${why}→serve_cache`);
        return serveCache(signals.cache!);
      }
    } else if (step === 'serve_template') {
      if (templateAnswer !== undefined) {
        reasons.push(`${why}→serve_template`);
        return template();
      }
    }
  }
  if (!fitsCost(tier)) {
    reasons.push('projected_cost_over_budget→refuse');
    return refuse('budget_exceeded');
  }
  if (!fitsCapacity(tier)) reasons.push(`capacity_wait_over_budget_${tier}→queue`);
  return done({ action: 'infer', tier, rag, contextTokenBudget, projectedCostUsd: projected(tier), refusal: null });
}

/** The prefix of the decision reason that names the classified intent (`intent:<name>`, first in a record's reasons). */
export const INTENT_REASON_PREFIX = 'intent:';

/** The decision reason naming a classified intent: `intent:<name>`. The router puts it first on routed records. */
export const intentReason = (intent: string): string => `${INTENT_REASON_PREFIX}${intent}`;

/** The intent a record's decision reasons name (`intent:<name>`), or null when the request was not classified. */
export function intentOfReasons(reasons: readonly string[] | null | undefined): string | null {
  const r = reasons?.find((x) => x.startsWith(INTENT_REASON_PREFIX));
  return r === undefined || r.length === INTENT_REASON_PREFIX.length ? null : r.slice(INTENT_REASON_PREFIX.length);
}
