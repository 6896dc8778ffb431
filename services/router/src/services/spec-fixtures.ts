/**
 * Fixtures shared by the router's unit specs (not used at run time): the repository's local policy and a validated
 * request of tenant-a asking a SQuAD question with RAG.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceRequestValidated } from '@llmgov/contracts';
import { parsePolicyText, type PolicyDocument } from '@llmgov/policy';

/** This file is services/router/dist/src/services/spec-fixtures.js. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');

/** infra/policies/local.yaml, parsed and validated. */
export function localPolicyDocument(): PolicyDocument {
  return parsePolicyText(readFileSync(path.join(repoRoot, 'infra/policies/local.yaml'), 'utf8'), 'local.yaml');
}

/** A validated request (job `job-1` of tenant-a, its default route), with `over` applied. */
export function validatedRequest(over: Partial<InferenceRequestValidated> = {}): InferenceRequestValidated {
  return {
    event_id: 'e1',
    tenant_id: 'tenant-a',
    occurred_at: Date.now(),
    schema_version: 2,
    correlation_id: 'job-1',
    job_id: 'job-1',
    idempotency_key: null,
    prompt: 'Where did Super Bowl 50 take place?',
    system_prompt: null,
    budget: { latency_ms: 60_000, max_cost_usd: 0.05, min_quality: 0.5 },
    options: { max_tokens: 32, temperature: 0, rag: true, tier_hint: null },
    team: 'qa',
    feature: 'spec',
    metadata: {},
    prompt_hash: 'h1',
    injection_score: 0,
    pii_masked_count: 0,
    route: null,
    ...over,
  } as InferenceRequestValidated;
}
