import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The LLM-as-judge question: "is the answer supported by the context?", asked to a judge pool (an OpenAI-compatible
 * `/v1/completions` endpoint) with a versioned prompt template, answered by one token. The score is P(yes) from the
 * top log-probabilities of that token when the engine returns them (llama.cpp server and vLLM do), else 1 or 0 from the
 * generated token. The yes/no-probability reading follows the G-Eval practice of weighting the judge's answer tokens by
 * their probabilities (Liu et al. 2023) rather than taking the sampled token alone.
 */

/** A judge prompt template file (infra/prompts/judge/NAME.vVERSION.json). */
export const judgePromptTemplateSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/),
  version: z.int().min(1),
  /** The prompt; `{{question}}`, `{{context}}` and `{{answer}}` are replaced verbatim. */
  prompt: z.string().min(1),
  /** Longest context inserted, characters (the start of the joined chunks is kept). */
  max_context_chars: z.int().min(100).default(2000),
});
export type JudgePromptTemplate = z.infer<typeof judgePromptTemplateSchema>;

/**
 * The prompt for one answer: variables replaced in one pass, so values are inserted verbatim (a `{{answer}}` inside the
 * question stays literal). Context chunks are numbered `[n] text` and joined by blank lines, cut at `max_context_chars`.
 */
export function renderJudgePrompt(t: JudgePromptTemplate, input: { question: string; context: readonly string[]; answer: string }): string {
  const context = input.context
    .map((c, i) => `[${i + 1}] ${c}`)
    .join('\n\n')
    .slice(0, t.max_context_chars);
  const values: Record<string, string> = { question: input.question, context, answer: input.answer };
  return t.prompt.replace(/\{\{(question|context|answer)\}\}/g, (_m, name: string) => values[name]!);
}

const YES = /^\s*yes\b/i;
const NO = /^\s*no\b/i;

/** One candidate token with its natural-log probability. */
interface TokenLogprob {
  token: string;
  logprob: number;
}

/** The first generated token's top candidates, from llama.cpp/OpenAI-chat (`content[0].top_logprobs`) or legacy OpenAI (`top_logprobs[0]`) shapes. */
function topCandidates(logprobs: unknown): TokenLogprob[] | null {
  if (typeof logprobs !== 'object' || logprobs === null) return null;
  const lp = logprobs as { content?: { top_logprobs?: TokenLogprob[] }[]; top_logprobs?: Record<string, number>[] };
  const content = lp.content?.[0]?.top_logprobs;
  if (Array.isArray(content) && content.length > 0) return content.filter((c) => typeof c.token === 'string' && Number.isFinite(c.logprob));
  const legacy = lp.top_logprobs?.[0];
  if (legacy && typeof legacy === 'object') return Object.entries(legacy).map(([token, logprob]) => ({ token, logprob }));
  return null;
}

/**
 * P(yes) of a `/v1/completions` response: exp-summed probabilities of the candidates reading "yes" over those reading
 * "yes" or "no" (`method: 'logprobs'`); without usable log-probabilities, 1 for a generated "yes", 0 for "no"
 * (`method: 'token'`). null when neither reads as yes or no.
 */
export function yesProbability(body: unknown): { p_yes: number; method: 'logprobs' | 'token' } | null {
  const choice = (body as { choices?: { text?: unknown; logprobs?: unknown }[] } | null)?.choices?.[0];
  if (!choice) return null;
  const candidates = topCandidates(choice.logprobs);
  if (candidates) {
    let yes = 0;
    let no = 0;
    for (const c of candidates) {
      if (YES.test(c.token)) yes += Math.exp(c.logprob);
      else if (NO.test(c.token)) no += Math.exp(c.logprob);
    }
    if (yes + no > 0) return { p_yes: Math.round((yes / (yes + no)) * 10_000) / 10_000, method: 'logprobs' };
  }
  const text = typeof choice.text === 'string' ? choice.text : '';
  if (YES.test(text)) return { p_yes: 1, method: 'token' };
  if (NO.test(text)) return { p_yes: 0, method: 'token' };
  return null;
}

/** Share of answers (0..1) the LLM judge sees, per tier, with optional per-route overrides. */
export interface LlmJudgeSampling {
  tiers: Record<'S' | 'M' | 'L', number>;
  routes?: Record<string, number>;
}

/**
 * Whether the LLM judge sees this job: its route's rate when the route has one, else its tier's; sampled by a hash of
 * the job id (SHA-256, first 32 bits, over 2^32) so a redelivered completion gets the same decision.
 */
export function llmJudgeSampled(jobId: string, tier: 'S' | 'M' | 'L', route: string | null, s: LlmJudgeSampling): boolean {
  return sampledAtRate(jobId, (route !== null ? s.routes?.[route] : undefined) ?? s.tiers[tier]);
}

/**
 * Whether the LLM judge sees this job at sampling rate `rate` (0..1; 0 or less: never, 1 or more: always): the first
 * 32 bits of SHA-256(`llm-judge:<job id>`) over 2^32 fall under the rate, so the decision is the same on every delivery
 * and a higher rate only adds jobs.
 */
export function sampledAtRate(jobId: string, rate: number): boolean {
  if (!(rate > 0)) return false;
  if (rate >= 1) return true;
  return createHash('sha256').update(`llm-judge:${jobId}`).digest().readUInt32BE(0) / 2 ** 32 < rate;
}
