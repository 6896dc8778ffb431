/**
 * Shared set-up of the judge's integration specs that read policy versions from Postgres and hold reservations in
 * Redis (`infra/local/up.sh`, then `set -a; . .local/stack.env`): the stores, the local policy re-homed under a test
 * tenant, the budget reservations over that policy's limits, and a completed attempt as the judge receives it.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parsePolicyText, policyTemplateRefs, templateFileName, type PolicyBudget, type PolicyDocument } from '@llmgov/policy';
import {
  BudgetReservations,
  EffectiveBudgetLimits,
  PolicyBudgetLimits,
  RedisBudgetLimits,
  createPgPool,
  createRedis,
  migrate,
  type Redis,
} from '@llmgov/persistence';
import type { InferenceCompleted } from '@llmgov/contracts';

export const DATABASE_URL = process.env.DATABASE_URL;
export const REDIS_URL = process.env.REDIS_URL;
/** The `describe` skip option: the specs need both stores. */
export const needsStores = DATABASE_URL && REDIS_URL ? false : 'DATABASE_URL and REDIS_URL are needed';

/** Absolute path of a repo-relative file (this module compiles to services/judge/dist/test/). */
export const repoFile = (rel: string) => fileURLToPath(new URL(`../../../../${rel}`, import.meta.url));
const localPolicy = parsePolicyText(readFileSync(repoFile('infra/policies/local.yaml'), 'utf8'), 'local.yaml');

/**
 * infra/policies/local.yaml with tenant-a's routes under `tenant` and these budgets only, plus the prompt templates it
 * references (infra/prompts). `document` is a fresh clone the caller may change before applying it.
 */
export function tenantPolicy(tenant: string, budgets: Omit<PolicyBudget, 'tenant'>[]) {
  const document: PolicyDocument = structuredClone(localPolicy);
  document.tenants = { [tenant]: document.tenants['tenant-a']! };
  document.budgets = budgets.map((b) => ({ tenant, ...b }));
  const templates = policyTemplateRefs(document).map((ref) => ({
    ...ref,
    content: JSON.parse(readFileSync(repoFile(`infra/prompts/${templateFileName(ref)}`), 'utf8')) as Record<string, unknown>,
  }));
  return { document, templates };
}

/** Migrates Postgres and opens a pool (4 connections) and a Redis client; `close` ends both. */
export async function openStores(): Promise<{ pool: ReturnType<typeof createPgPool>; redis: Redis; close: () => Promise<void> }> {
  await migrate(DATABASE_URL!);
  const pool = createPgPool(DATABASE_URL!, { max: 4 });
  const redis = createRedis(REDIS_URL!);
  return {
    pool,
    redis,
    close: async () => {
      redis.disconnect();
      await pool.end();
    },
  };
}

/** BudgetReservations in `redis` under the policy versions' budgets (`limits`), with Redis-set limits on top. */
export function policyReservations(redis: Redis): { limits: PolicyBudgetLimits; reservations: BudgetReservations } {
  const limits = new PolicyBudgetLimits();
  return { limits, reservations: new BudgetReservations(redis, { limits: new EffectiveBudgetLimits(new RedisBudgetLimits(redis), limits) }) };
}

/**
 * A first attempt on tier S (smollm2) of route squad-qa, decided by `policyVersion`: 120 prompt and 9 completion
 * tokens, a 60 s deadline and a 0.005 USD budget. `fields` gives the answer text, team and max_tokens.
 */
export function completionOf(
  tenant: string,
  jobId: string,
  policyVersion: number,
  fields: Pick<InferenceCompleted, 'text' | 'team' | 'max_tokens'>,
): InferenceCompleted {
  return {
    event_id: randomUUID(),
    tenant_id: tenant,
    occurred_at: Date.now(),
    schema_version: 1,
    correlation_id: jobId,
    job_id: jobId,
    shadow: false,
    tier: 'S',
    model: 'smollm2-135m-instruct',
    endpoint: null,
    text: fields.text,
    finish_reason: 'stop',
    from_cache: false,
    usage: { prompt_tokens: 120, completion_tokens: 9 },
    timings: { queue_ms: 1, ttft_ms: 2, tpot_ms: 3, e2e_ms: 30 },
    context: [],
    prompt: 'Who were the Normans?',
    team: fields.team,
    feature: null,
    cache_key: 'k',
    system_prompt: null,
    attempt: 1,
    max_tokens: fields.max_tokens,
    temperature: 0,
    deadline_at: Date.now() + 60_000,
    budget: { latency_ms: 30_000, max_cost_usd: 0.005, min_quality: 0.5 },
    route: 'squad-qa',
    policy_version: policyVersion,
    decision_reasons: [],
  };
}
