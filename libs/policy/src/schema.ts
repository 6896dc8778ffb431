import { z } from 'zod';

/**
 * The policy document (issue 10, section 1): versioned data that binds every request to its SLO, cost and quality
 * budget. Authored as YAML (`infra/policies/*.yaml`) or JSON, validated by {@link policyDocumentSchema}, published as
 * JSON Schema in `schemas/policy/policy.schema.json` (generated from this file: `npm run generate:schema -w libs/policy`).
 *
 * Units: latency in ms, money in USD, time to live in s, quality on the judge's 0..1 groundedness scale.
 */

/** The model tiers, cheapest first; `lower_tier` walks this order down. */
export const TIERS = ['S', 'M', 'L'] as const;
export type PolicyTier = (typeof TIERS)[number];

/** The degrade steps (issue 10, section 5), each a rule with its own reason id in the decision. */
export const DEGRADE_STEPS = ['shrink_context', 'lower_tier', 'serve_cache', 'serve_template'] as const;
export type DegradeStep = (typeof DEGRADE_STEPS)[number];

/** Budget periods, UTC calendar day and month (as the cost-attributor's billing periods). */
export const BUDGET_PERIODS = ['day', 'month'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** Largest number of entries in any map or list of the document: a policy is hand-written, not bulk data. */
export const MAX_ENTRIES = 1000;

/** Tenant, route, SLO class and intent names: what the platform's ids and metric labels accept. */
export const policyName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit');

/** A prompt template reference `name@version`: the identity of a file `infra/prompts/NAME.vVERSION.json`. */
export const templateRef = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9._-]+@[1-9][0-9]{0,8}$/, 'a prompt template reference name@version (for example squad-chat-smollm2@1)');

const usd = z.number().nonnegative();
const ttlSeconds = z
  .int()
  .min(0)
  .max(366 * 86_400);
const score = z.number().min(0).max(1);
const boundedRecord = <V extends z.ZodType>(value: V) =>
  z.record(policyName, value).refine((r) => Object.keys(r).length <= MAX_ENTRIES, `at most ${MAX_ENTRIES} entries`);
const uniqueList = <T extends z.ZodType>(item: T, what: string) =>
  z
    .array(item)
    .max(MAX_ENTRIES)
    .refine((a) => new Set(a).size === a.length, `${what} must not repeat`);

/** Price of a token-billed model (a hosted API): USD per one million tokens. */
export const apiPriceSchema = z
  .strictObject({
    kind: z.literal('api'),
    usd_per_1m_prompt_tokens: usd,
    usd_per_1m_completion_tokens: usd,
  })
  .describe('A token-billed model: USD per 1M prompt and per 1M completion tokens.');

/**
 * Price of a self-hosted model on a GPU pool: USD per GPU-hour, charged by the GPU-seconds a call uses (the
 * cost-attributor's `self_hosted` pricing). The optional throughputs turn a request's tokens into a GPU-second estimate
 * before it runs: GPU-seconds = prompt_tokens / prompt_tokens_per_gpu_s + max_tokens / completion_tokens_per_gpu_s
 * (`projectedCostUsd`); without them a caller bounds the GPU time another way (for example by the request's deadline).
 */
export const selfHostedPriceSchema = z
  .strictObject({
    kind: z.literal('self_hosted'),
    usd_per_gpu_hour: usd,
    gpu_type: z.string().min(1).max(200).optional(),
    prompt_tokens_per_gpu_s: z.number().positive().optional().describe('prompt tokens the pool processes per GPU-second (all sequences together)'),
    completion_tokens_per_gpu_s: z.number().positive().optional().describe('completion tokens the pool generates per GPU-second (all sequences together)'),
  })
  .describe('A self-hosted model: USD per GPU-hour, and optionally the throughputs that estimate GPU-seconds from tokens.');

export const tierPriceSchema = z.discriminatedUnion('kind', [apiPriceSchema, selfHostedPriceSchema]);

/** One model tier: the model the pool serves, its price and its prompt template. */
export const tierSchema = z.strictObject({
  model: z.string().min(1).max(256).describe('served model name (the pool file’s model)'),
  price: tierPriceSchema,
  prompt_template: templateRef.describe('the prompt template the tier renders, name@version; stored with the policy version'),
  expected_quality: score
    .optional()
    .describe(
      'the quality the tier is expected to reach, on the judge’s 0..1 scale: the decision picks the cheapest allowed tier whose expected_quality meets the request’s min_quality (a tier without one is only the last resort)',
    ),
});

/**
 * The quality cascade of an SLO class (issue 11 §2): an answer the judge scores below the class's min_quality is re-run
 * on the next allowed tier, at most `max_escalations` times per job (so a job is tried on at most 1 + max_escalations
 * tiers), while the budget reservation for the next attempt is granted.
 */
export const escalationSchema = z.strictObject({
  allowed: z.boolean().describe('whether an answer below min_quality may be re-run on the next allowed tier'),
  max_escalations: z
    .int()
    .min(0)
    .max(TIERS.length - 1)
    .describe('most re-runs of one job on a higher tier (0: none; at most one per tier above the first)'),
});

/**
 * An SLO class: the budget a route binds its requests to. A request's own budget may tighten the latency, cost and
 * quality figures but never loosen them (`effectiveSlo`).
 */
export const sloClassSchema = z.strictObject({
  description: z.string().max(2000).optional(),
  p95_latency_ms: z.int().min(1).max(3_600_000).describe('p95 end-to-end latency budget, ms (under 800 ms: no RAG, prefer tier S or a cached answer)'),
  max_cost_usd: usd.describe('maximum cost of one request, USD'),
  min_quality: score.describe('minimum quality, on the judge’s 0..1 groundedness scale'),
  allowed_tiers: uniqueList(z.enum(TIERS), 'allowed_tiers').min(1).describe('tiers a request of this class may be served by'),
  rag_allowed: z.boolean().describe('whether retrieval-augmented generation may be used'),
  cache_allowed: z.boolean().describe('whether a cached answer may be served'),
  cache_ttl_s: ttlSeconds.describe('time to live of an answer cached for this class, s (an intent’s cache_ttl_s overrides it)'),
  escalation: escalationSchema.optional().describe('the quality cascade; absent: no escalation, a low answer is released as the fallback'),
});

/**
 * Defaults of the LLM judge's sampling (issue 11 §1): every S answer and a quarter of M and L answers. A tier the
 * policy's `judge.llm_sample` leaves out (or a policy without a `judge` block) keeps the judge's own setting, whose
 * default these are (services/judge `JUDGE_LLM_SAMPLE`).
 */
export const JUDGE_LLM_SAMPLE_DEFAULTS: Readonly<Record<PolicyTier, number>> = { S: 1, M: 0.25, L: 0.25 };

/**
 * The judge's settings (issue 11 §1, "sampling per tier and route as the policy says"): the share of model answers, per
 * tier, that the LLM judge sees besides the cheap checks (0: none, 1: all; sampled by a hash of the job id, so a job
 * always gets the same decision). Unknown tiers are refused.
 */
export const judgeSettingsSchema = z.strictObject({
  llm_sample: z
    .strictObject({ S: score.optional(), M: score.optional(), L: score.optional() })
    .optional()
    .describe('share (0..1) of each tier’s answers the LLM judge sees; a tier left out keeps the judge’s default (S 1, M 0.25, L 0.25)'),
});

/** A route's own judge settings: its sampling rate replaces the tiers' rates for the route's answers. */
export const routeJudgeSchema = z.strictObject({
  llm_sample: score.optional().describe('share (0..1) of this route’s answers the LLM judge sees, whatever their tier (overrides judge.llm_sample)'),
});

/** A named use case of a tenant, bound to an SLO class. */
export const routeSchema = z.strictObject({
  description: z.string().max(2000).optional(),
  slo_class: policyName.describe('a key of slo_classes'),
  template_answer: z
    .string()
    .min(1)
    .max(8000)
    .optional()
    .describe('the deterministic answer of the serve_template degrade step (required when the route’s ladder has that step)'),
  degrade_ladder: uniqueList(z.enum(DEGRADE_STEPS), 'degrade steps').optional().describe('this route’s own ladder, replacing degrade.ladder'),
  judge: routeJudgeSchema.optional().describe('this route’s LLM-judge sampling, replacing the policy’s judge.llm_sample for its answers'),
});

export const tenantSchema = z.strictObject({
  description: z.string().max(2000).optional(),
  default_route: policyName.describe('the route of a request that names none; a key of routes'),
  routes: boundedRecord(routeSchema).refine((r) => Object.keys(r).length > 0, 'a tenant needs at least one route'),
});

/** One intent of the classifier, recognised from its example utterances. */
export const intentSchema = z.strictObject({
  name: policyName,
  description: z.string().max(2000).optional(),
  examples: z.array(z.string().min(1).max(4000)).min(1).max(MAX_ENTRIES).describe('example utterances of the intent'),
  high_risk: z.boolean().default(false).describe('a high-risk intent (legal, medical, ...) raises the request’s risk score'),
  cache_ttl_s: ttlSeconds.optional().describe('time to live of cached answers of this intent, s (overrides the SLO class’s)'),
});

/**
 * Defaults of the classifier's high-risk confidence floors: calibrated by `npm run bench:classifier` on the calibration
 * half of libs/classifier/data/intents-eval.jsonl (all-MiniLM-L6-v2, centred centroids, the intents of
 * infra/policies/classifier-intents.json): the fewest false high-risk rows while losing at most one high-risk row.
 * Scores are cosines in the centred space of the policy's own intents, so another model or intent set should re-calibrate.
 */
export const HIGH_RISK_MIN_SCORE_DEFAULT = 0.14;
export const HIGH_RISK_MIN_MARGIN_DEFAULT = 0;

/** Classifier settings: what `policy.classifier` gives the request classifier. */
export const classifierSchema = z.strictObject({
  intents: z.array(intentSchema).min(1).max(MAX_ENTRIES),
  complexity_threshold: score.describe('at or below it (and risk below risk_threshold) the cache is tried first'),
  risk_threshold: score.describe('at or above it a request is high risk'),
  high_risk_min_score: z
    .number()
    .min(-1)
    .max(1)
    .default(HIGH_RISK_MIN_SCORE_DEFAULT)
    .describe(
      'a request gets a high_risk intent only when its intent_score (cosine to the intent, −1..1) is at least this; otherwise the best intent that is not high risk (default calibrated for all-MiniLM-L6-v2, bench/README.md "Classifier")',
    ),
  high_risk_min_margin: z
    .number()
    .min(0)
    .max(2)
    .default(HIGH_RISK_MIN_MARGIN_DEFAULT)
    .describe('and only when its intent_score leads the runner-up intent’s by at least this (default calibrated likewise)'),
});

/**
 * A budget over one scope: a tenant, or one of its teams, or one of its routes, for a UTC day or month. Spend is
 * reserved against it before dispatch; crossing `alert_at` of the limit raises an alert, and a request that would go
 * above the limit is throttled as `throttle` says.
 */
export const budgetSchema = z.strictObject({
  tenant: policyName,
  team: policyName.optional(),
  route: policyName.optional(),
  period: z.enum(BUDGET_PERIODS),
  limit_usd: usd.describe('spend limit of the period, USD'),
  alert_at: z.number().gt(0).max(1).default(0.8).describe('fraction of the limit that raises an alert'),
  throttle: z
    .enum(['degrade', 'refuse'])
    .default('degrade')
    .describe('above the limit: degrade (walk the degrade ladder for an answer that costs nothing more, else refuse) or refuse (budget_exceeded)'),
});

export const degradeSchema = z.strictObject({
  ladder: uniqueList(z.enum(DEGRADE_STEPS), 'degrade steps').describe('the steps tried in order when a request does not fit its budget or capacity'),
  shrink_context_max_tokens: z.int().min(0).max(1_000_000).describe('the retrieved-context token budget the shrink_context step cuts to'),
});

/**
 * The semantic cache layer (issue 10 §4; ADR 0008): nearest neighbour on the query embedding within a tenant + route
 * scope. A calibrated threshold per tenant and route (`llmgov cache calibrate`) replaces `default_threshold`.
 */
export const semanticCacheSchema = z.strictObject({
  enabled: z.boolean().optional().describe('whether the semantic layer is looked up and filled (default true)'),
  default_threshold: score
    .optional()
    .describe('cosine similarity a hit needs when no threshold was calibrated for the tenant and route (default 0.95: conservative)'),
  false_hit_target: z
    .number()
    .gt(0)
    .max(0.5)
    .optional()
    .describe('the false-hit rate a calibration keeps the threshold under, as an upper confidence bound (default 0.02)'),
  max_entries_per_scope: z
    .int()
    .min(1)
    .max(100_000)
    .optional()
    .describe('entries kept per scope (tenant, route, prompts, index version, models); the oldest go first (default 1000)'),
});

/**
 * A regression gate (issue 11, seed 002 "require no regression on critical scenarios before rollout"): before this
 * version is activated, its eval run on the golden set `golden` is compared with the active version's; a drop beyond a
 * tolerance refuses the activation (`llmgov policy activate`, unless --force). Tolerances are absolute differences of
 * rates in 0..1 (0.02 = two percentage points); a tolerance left out is not checked.
 */
export const gateSchema = z.strictObject({
  golden: policyName.describe('name of the golden set (llmgov golden list) both versions are evaluated on'),
  max_f1_drop: score.default(0.02).describe('largest allowed drop of mean SQuAD token F1 (candidate below active), 0..1'),
  max_exact_match_drop: score.optional().describe('largest allowed drop of the exact-match rate, 0..1'),
  max_hallucination_rate_increase: score.optional().describe('largest allowed rise of the hallucination rate, 0..1'),
  max_judge_pass_rate_drop: score.optional().describe('largest allowed drop of the judge PASS rate, 0..1'),
});

/**
 * Canary tolerances (issue 11 §4): how far a canary version may fall behind the stable version, over a sliding window
 * of completed jobs per version, before the canary controller rolls it back. The canary is also rolled back when it
 * breaches its route's SLO (p95 latency over the SLO class's p95_latency_ms, or judged quality under its min_quality)
 * over the window. Every field is optional; the controller's defaults (`CANARY_DEFAULTS`) fill in the rest.
 */
export const canarySettingsSchema = z.strictObject({
  window_s: z.int().min(10).max(86_400).optional().describe('the sliding window the statistics are computed over, s (default 300)'),
  min_samples: z.int().min(1).max(100_000).optional().describe('samples each version needs in the window before the canary is judged (default 20)'),
  max_p95_latency_ratio: z
    .number()
    .min(1)
    .max(1000)
    .optional()
    .describe('rolled back when the canary’s p95 end-to-end latency is above this multiple of the stable version’s (default 1.5)'),
  max_quality_drop: score.optional().describe('rolled back when the canary’s judge PASS rate is more than this below the stable version’s (default 0.1)'),
  max_cost_ratio: z
    .number()
    .min(1)
    .max(1000)
    .optional()
    .describe('rolled back when the canary’s mean cost per request is above this multiple of the stable version’s (default 1.5)'),
});

/**
 * Drift alerting (seed 000): the Jensen-Shannon divergence (log base 2, so 0..1) between a reference window and the
 * current window of the intent mix, the binned judge scores and the tier mix; at or above `alert_threshold` the
 * drift alert gauge is 1.
 */
export const driftSettingsSchema = z.strictObject({
  window_s: z
    .int()
    .min(10)
    .max(7 * 86_400)
    .optional()
    .describe('length of the current window and of the reference window before it, s (default 600)'),
  alert_threshold: score.optional().describe('JS divergence (log2, 0..1) at or above which drift alerts (default 0.1)'),
});

const policyObject = z.strictObject({
  $schema: z.string().max(2000).optional().describe('the JSON Schema this document follows (for editors)'),
  description: z.string().max(2000).optional(),
  tiers: z
    .strictObject({ S: tierSchema.optional(), M: tierSchema.optional(), L: tierSchema.optional() })
    .refine((t) => Object.values(t).some((v) => v !== undefined), 'declare at least one tier'),
  slo_classes: boundedRecord(sloClassSchema),
  tenants: boundedRecord(tenantSchema),
  classifier: classifierSchema,
  budgets: z.array(budgetSchema).max(MAX_ENTRIES).default([]),
  degrade: degradeSchema,
  semantic_cache: semanticCacheSchema.optional(),
  // Optional without a default, so that the SHA-256 of documents written before gates existed stays the same.
  gates: z.array(gateSchema).max(MAX_ENTRIES).optional().describe('regression gates checked before this version is activated'),
  canary: canarySettingsSchema.optional().describe('tolerances of a canary of this version against the stable version (issue 11 §4)'),
  drift: driftSettingsSchema.optional().describe('drift windows and alert threshold (issue 11 §4)'),
  judge: judgeSettingsSchema.optional().describe('the judge’s LLM sampling per tier (issue 11 §1); absent: the judge’s defaults'),
});

/** Cross-references the object shape cannot express; each problem is an issue at the path of the offending field. */
function checkReferences(p: z.output<typeof policyObject>, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  for (const [className, cls] of Object.entries(p.slo_classes)) {
    cls.allowed_tiers.forEach((tier, i) => {
      if (!p.tiers[tier]) issue(['slo_classes', className, 'allowed_tiers', i], `tier ${tier} is not declared in tiers`);
    });
  }
  for (const [tenantId, tenant] of Object.entries(p.tenants)) {
    if (!(tenant.default_route in tenant.routes))
      issue(['tenants', tenantId, 'default_route'], `route ${tenant.default_route} is not one of this tenant's routes`);
    for (const [routeName, route] of Object.entries(tenant.routes)) {
      const at = ['tenants', tenantId, 'routes', routeName];
      if (!(route.slo_class in p.slo_classes)) issue([...at, 'slo_class'], `SLO class ${route.slo_class} is not declared in slo_classes`);
      const ladder = route.degrade_ladder ?? p.degrade.ladder;
      if (ladder.includes('serve_template') && route.template_answer === undefined)
        issue([...at, 'template_answer'], "the route's degrade ladder has serve_template, so it needs a template_answer");
    }
  }
  const seenIntents = new Set<string>();
  p.classifier.intents.forEach((intent, i) => {
    if (seenIntents.has(intent.name)) issue(['classifier', 'intents', i, 'name'], `intent ${intent.name} is declared twice`);
    seenIntents.add(intent.name);
  });
  const seenGates = new Set<string>();
  (p.gates ?? []).forEach((g, i) => {
    if (seenGates.has(g.golden)) issue(['gates', i, 'golden'], `a gate on golden set ${g.golden} is declared twice`);
    seenGates.add(g.golden);
  });
  const seenScopes = new Set<string>();
  p.budgets.forEach((b, i) => {
    const tenant = p.tenants[b.tenant];
    if (!tenant) issue(['budgets', i, 'tenant'], `tenant ${b.tenant} is not declared in tenants`);
    else if (b.route !== undefined && !(b.route in tenant.routes)) issue(['budgets', i, 'route'], `route ${b.route} is not one of tenant ${b.tenant}'s routes`);
    if (b.team !== undefined && b.route !== undefined)
      issue(['budgets', i], 'a budget applies to the tenant, one of its teams or one of its routes: give team or route, not both (spend is counted per scope)');
    const scope = JSON.stringify([b.tenant, b.team ?? null, b.route ?? null, b.period]);
    if (seenScopes.has(scope)) issue(['budgets', i], `a ${b.period} budget for this scope is declared twice`);
    seenScopes.add(scope);
  });
}

/** The policy document, with its cross-references checked. */
export const policyDocumentSchema = policyObject.superRefine(checkReferences);

/** A validated policy document, defaults applied. */
export type PolicyDocument = z.output<typeof policyDocumentSchema>;
/** A policy document as authored (defaults optional). */
export type PolicyDocumentInput = z.input<typeof policyDocumentSchema>;
export type SloClass = z.output<typeof sloClassSchema>;
export type EscalationPolicy = z.output<typeof escalationSchema>;
export type PolicyRoute = z.output<typeof routeSchema>;
export type PolicyTenant = z.output<typeof tenantSchema>;
export type PolicyTierConfig = z.output<typeof tierSchema>;
export type TierPrice = z.output<typeof tierPriceSchema>;
export type ClassifierSettings = z.output<typeof classifierSchema>;
export type PolicyIntent = z.output<typeof intentSchema>;
export type PolicyBudget = z.output<typeof budgetSchema>;
export type DegradeSettings = z.output<typeof degradeSchema>;
export type SemanticCacheSettings = z.output<typeof semanticCacheSchema>;
export type PolicyGate = z.output<typeof gateSchema>;
export type CanarySettings = z.output<typeof canarySettingsSchema>;
export type DriftSettings = z.output<typeof driftSettingsSchema>;
export type JudgeSettings = z.output<typeof judgeSettingsSchema>;
