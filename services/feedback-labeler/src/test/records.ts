import type { InferenceJudged } from '@llmgov/contracts';

/**
 * A judged first attempt of tenant-a's `job-1` on tier S, judged deterministically with `verdict` (groundedness 0.9 on
 * PASS, else 0.1) and none of the optional scores; `over` replaces fields.
 */
export function judgedRecord(verdict: InferenceJudged['verdict'], over: Partial<InferenceJudged> = {}): InferenceJudged {
  return {
    event_id: '6f1c7c1e-5d1e-5b7e-9a57-3d2f1a0b9c8d',
    tenant_id: 'tenant-a',
    occurred_at: 1_760_000_000_000,
    schema_version: 1,
    correlation_id: 'job-1',
    job_id: 'job-1',
    shadow: false,
    verdict,
    groundedness: verdict === 'PASS' ? 0.9 : 0.1,
    relevance: 0.5,
    pii_found: false,
    final_text: 'answer',
    tier: 'S',
    model: 'local-sim-s',
    retrieved_document_ids: ['d1'],
    prompt: 'question?',
    attempt: 1,
    judge_method: 'DETERMINISTIC',
    reasons: [],
    route: null,
    policy_version: null,
    faithfulness: null,
    completeness: null,
    semantic_support: null,
    llm_support: null,
    quality: null,
    judge_version: null,
    ...over,
  };
}
