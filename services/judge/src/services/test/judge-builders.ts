/**
 * Builders shared by the judge's unit specs (`src/services/*.spec.ts`): a completed attempt as the judge receives it, a
 * JudgeService over in-memory doubles, and the judge engine's one-token reply. Not part of the service: nothing in
 * src imports it but the specs.
 */
import { Registry } from 'prom-client';
import type { EventPublisher } from '@llmgov/kafka-runtime';
import { createLogger, type PlatformMetrics } from '@llmgov/observability';
import type { InferenceCompleted } from '@llmgov/contracts';
import type { AnswerCacheRepository, JobFlagsRepository, SemanticCacheLayer } from '@llmgov/persistence';
import type { EmbeddingsClient } from '@llmgov/embeddings';
import { RecordingPublisher } from '@llmgov/testing';
import { JudgeMetrics } from '../judge-metrics.js';
import { JudgeService } from '../judge.service.js';
import type { JudgeConfig } from '../../config.js';
import type { LlmJudgeClient } from '../llm-judge.client.js';
import type { CascadePort } from '../cascade.js';
import type { PolicyVersionSource } from '../policy-versions.js';
import type { JudgeSpendPort } from '../judge-spend.js';

/** Three retrieved chunks of two documents (d1, d2); the first supports "descended from Norse raiders". */
export const NORMANS_CONTEXT: InferenceCompleted['context'] = [
  { chunk_id: 'd1#0', document_id: 'd1', text: 'The Normans were descended from Norse raiders and pirates.', score: 0.9 },
  { chunk_id: 'd2#3', document_id: 'd2', text: 'Normandy is in France.', score: 0.5 },
  { chunk_id: 'd1#1', document_id: 'd1', text: 'Rollo led them.', score: 0.4 },
];

/**
 * A first attempt on tier M, grounded in {@link NORMANS_CONTEXT}: 120 prompt and 9 completion tokens, max_tokens 256,
 * a 30 s latency and 0.05 USD budget with min_quality 0.5, no route or policy version; `over` replaces fields.
 */
export function judgeCompletion(over: Partial<InferenceCompleted> = {}): InferenceCompleted {
  return {
    event_id: '0f8fad5b-d9cb-469f-a165-70867728950e',
    tenant_id: 'tenant-a',
    occurred_at: 1_760_000_000_000,
    schema_version: 1,
    correlation_id: 'job-1',
    job_id: 'job-1',
    shadow: false,
    tier: 'M',
    model: 'local-sim-m',
    endpoint: 'http://127.0.0.1:18001',
    text: 'The Normans were descended from Norse raiders.',
    finish_reason: 'stop',
    from_cache: false,
    usage: { prompt_tokens: 120, completion_tokens: 9 },
    timings: { queue_ms: 1, ttft_ms: 2, tpot_ms: 3, e2e_ms: 30 },
    context: NORMANS_CONTEXT,
    prompt: 'Who were the Normans descended from?',
    team: null,
    feature: null,
    cache_key: 'abc123',
    system_prompt: null,
    attempt: 1,
    max_tokens: 256,
    temperature: 0,
    deadline_at: 1_760_000_030_000,
    budget: { latency_ms: 30_000, max_cost_usd: 0.05, min_quality: 0.5 },
    route: null,
    policy_version: null,
    decision_reasons: [],
    ...over,
  };
}

/**
 * The attempt of the LLM-judge specs: a schema-version-3 record (no `shadow` flag) on tier S answering "Norse raiders."
 * from one supporting chunk, with token counts and timings of 1; `over` replaces fields.
 */
export function llmJudgeCompletion(over: Partial<InferenceCompleted> = {}): InferenceCompleted {
  return {
    event_id: '0f8fad5b-d9cb-469f-a165-70867728950e',
    tenant_id: 'tenant-a',
    occurred_at: 1,
    schema_version: 3,
    correlation_id: 'job-1',
    job_id: 'job-1',
    tier: 'S',
    model: 'smollm2',
    endpoint: null,
    text: 'Norse raiders.',
    finish_reason: 'stop',
    from_cache: false,
    usage: { prompt_tokens: 1, completion_tokens: 1 },
    timings: { queue_ms: 1, ttft_ms: 1, tpot_ms: 1, e2e_ms: 1 },
    context: [{ chunk_id: 'c', document_id: 'd', text: 'The Normans were descended from Norse raiders.', score: 1 }],
    prompt: 'Who were the Normans descended from?',
    team: null,
    feature: null,
    cache_key: 'k',
    system_prompt: null,
    attempt: 1,
    max_tokens: 32,
    temperature: 0,
    deadline_at: 2,
    budget: { latency_ms: 1, max_cost_usd: 1, min_quality: 0.5 },
    route: null,
    policy_version: null,
    decision_reasons: [],
    ...over,
  } as InferenceCompleted;
}

/** JudgeMetrics on a registry of its own. */
export const judgeMetrics = () => new JudgeMetrics({ registry: new Registry() } as unknown as PlatformMetrics);

/** What a JudgeService under test is built from; absent ports are the service's "off" (null or absent). */
export interface JudgeServiceParts {
  config: JudgeConfig;
  /** Default: no job is cancelled. */
  flags?: Pick<JobFlagsRepository, 'isCancelled'>;
  /** Default: fills nothing. */
  answers?: Pick<AnswerCacheRepository, 'fill'>;
  publisher: RecordingPublisher;
  /** Default: {@link judgeMetrics}. */
  metrics?: JudgeMetrics;
  semantic?: SemanticCacheLayer;
  embeddings?: EmbeddingsClient | null;
  llm?: LlmJudgeClient | null;
  cascade?: CascadePort | null;
  versions?: PolicyVersionSource | null;
  spend?: JudgeSpendPort | null;
}

/** A JudgeService over the given doubles, with a silent logger. */
export function judgeServiceOf(parts: JudgeServiceParts): JudgeService {
  return new JudgeService(
    parts.config,
    (parts.flags ?? { isCancelled: async () => false }) as unknown as JobFlagsRepository,
    (parts.answers ?? { fill: async () => undefined }) as unknown as AnswerCacheRepository,
    parts.publisher as unknown as EventPublisher,
    parts.metrics ?? judgeMetrics(),
    createLogger('judge-test', 'silent'),
    parts.semantic,
    parts.embeddings ?? null,
    parts.llm ?? null,
    parts.cascade ?? null,
    parts.versions ?? null,
    parts.spend ?? null,
  );
}

/** A llama.cpp completion of the one token " Yes" with P(yes) = `pYes` among its top log-probabilities (" Yes", " No"). */
export const yesNoReply = (pYes: number) => ({
  choices: [
    {
      text: ' Yes',
      logprobs: {
        content: [
          {
            token: ' Yes',
            logprob: Math.log(pYes),
            top_logprobs: [
              { token: ' Yes', logprob: Math.log(pYes) },
              { token: ' No', logprob: Math.log(1 - pYes) },
            ],
          },
        ],
      },
    },
  ],
});
