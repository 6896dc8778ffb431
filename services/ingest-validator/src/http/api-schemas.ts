import { z } from 'zod';
import { hasControlCharacters, hasLoneSurrogates } from '@llmgov/guardrails';

/**
 * A string that is stored or used as a key as is (not normalised): control characters (NUL included) and
 * unpaired surrogates are refused with a 400, since Postgres text cannot hold NUL and UTF-8 cannot encode a
 * lone surrogate (it would silently become U+FFFD, so two different keys could collide).
 */
const plainString = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine((s) => !hasControlCharacters(s) && !hasLoneSurrogates(s), 'must not contain control characters or unpaired surrogates');

const shortId = plainString(1, 256);
const metadata = z.record(z.string().max(64), z.string().max(1024)).default({});

/** `POST /v1/jobs` body. Defaults: latency 30 s, cost 0.05 USD, quality 0.5, 256 tokens, temperature 0, RAG on. */
export const jobSubmissionSchema = z.strictObject({
  prompt: z.string().min(1),
  system_prompt: z.string().nullish(),
  idempotency_key: plainString(1, 256).nullish(),
  budget: z
    .strictObject({
      latency_ms: z.number().int().default(30_000),
      max_cost_usd: z.number().default(0.05),
      min_quality: z.number().default(0.5),
    })
    .default({ latency_ms: 30_000, max_cost_usd: 0.05, min_quality: 0.5 }),
  options: z
    .strictObject({
      max_tokens: z.number().int().default(256),
      temperature: z.number().default(0),
      rag: z.boolean().default(true),
      tier_hint: z.enum(['S', 'M', 'L']).nullish(),
    })
    .default({ max_tokens: 256, temperature: 0, rag: true }),
  team: z.string().max(64).nullish(),
  feature: z.string().max(64).nullish(),
  /** Policy route (a named use case of the tenant); absent for the tenant's default route. */
  route: z.string().max(64).nullish(),
  metadata,
});

/** `POST /v1/documents` body. */
export const documentSubmissionSchema = z.strictObject({
  document_id: shortId,
  text: z.string().min(1),
  title: z.string().max(1024).nullish(),
  language: plainString(0, 16).nullish(),
  source: plainString(0, 256).default('http'),
  metadata,
});

/** `POST /v1/feedback` body. */
export const feedbackSchema = z.strictObject({
  job_id: z.uuid(),
  kind: z.enum(['THUMBS_UP', 'THUMBS_DOWN', 'CORRECTION', 'REGENERATE', 'COPY', 'ABANDON']),
  correction: z.string().max(20_000).nullish(),
  user_id: plainString(0, 256).nullish(),
  comment: z.string().max(4000).nullish(),
});
