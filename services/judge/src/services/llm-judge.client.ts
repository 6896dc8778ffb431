import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { judgePromptTemplateSchema, renderJudgePrompt, yesProbability, type JudgePromptTemplate } from '@llmgov/judging';

/** The `judge` section of a pool file (infra/pools/*.json): the judge pool's OpenAI-compatible endpoint and prompt. */
export const judgePoolSchema = z.object({
  model: z.string().min(1),
  /** Base URL of an OpenAI-compatible server; the judge calls `<url>/v1/completions`. */
  url: z.url(),
  /** Judge prompt template (infra/prompts/judge/NAME.vVERSION.json), relative to the pool file's directory. */
  prompt_template: z.string().min(1),
  /** Per-call timeout, milliseconds. */
  timeout_ms: z.int().min(100).max(600_000).default(30_000),
  /**
   * Price of one GPU-hour of the judge endpoint, USD (as the pools' endpoints declare it): the judge's usage event
   * carries it, so the cost-attributor bills the call's GPU-seconds at it, and the budget reservation of a call is its
   * worst case (`timeout_ms` of GPU time). Absent: the cost-attributor's price catalog prices the model.
   */
  usd_per_gpu_hour: z.number().nonnegative().optional(),
  /** GPU type of the judge endpoint (billing label), e.g. `NVIDIA A100 80GB`. */
  gpu_type: z.string().min(1).max(200).optional(),
});

export interface JudgePool extends Omit<z.infer<typeof judgePoolSchema>, 'prompt_template'> {
  template: JudgePromptTemplate;
}

/**
 * The judge pool of `poolsFile`, with its prompt template loaded; null when the file has no `judge` section (then the
 * judge uses only the cheap checks).
 * @throws Error naming the file and the problem when the section or its template is invalid or unreadable.
 */
export function loadJudgePool(poolsFile: string): JudgePool | null {
  const raw = JSON.parse(readFileSync(poolsFile, 'utf8')) as { judge?: unknown };
  if (raw.judge === undefined) return null;
  const parsed = judgePoolSchema.safeParse(raw.judge);
  if (!parsed.success) throw new Error(`${poolsFile}: judge: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const file = path.resolve(path.dirname(poolsFile), parsed.data.prompt_template);
  const template = judgePromptTemplateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!template.success) throw new Error(`${file}: ${template.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  if (`${template.data.name}.v${template.data.version}.json` !== path.basename(file)) throw new Error(`${file}: name and version do not match the file name`);
  const { prompt_template: _t, ...rest } = parsed.data;
  return { ...rest, template: template.data };
}

/**
 * Asks the judge pool "is the answer supported by the context?" with one generated token and the top-10
 * log-probabilities (`logprobs: 10`, which llama.cpp's server and vLLM honour on `/v1/completions`).
 */
export class LlmJudgeClient {
  constructor(
    readonly pool: JudgePool,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** `name@version` of the judge prompt, e.g. `support-yes-no-gemma@1`. */
  get promptId(): string {
    return `${this.pool.template.name}@${this.pool.template.version}`;
  }

  /**
   * P(yes) for one answer (null when the reply reads neither yes nor no), with what the call used: `usage.prompt_tokens`
   * and `usage.completion_tokens` of the reply (0 when the server reports none) and its wall time `e2e_ms`.
   * @throws Error on a network failure, a timeout (`timeout_ms`) or a non-2xx status (the caller falls back to the cheap checks).
   */
  async supportProbability(input: { question: string; context: readonly string[]; answer: string }): Promise<LlmJudgeReply> {
    const started = performance.now();
    const res = await this.fetchImpl(`${this.pool.url.replace(/\/+$/, '')}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: this.pool.model,
        prompt: renderJudgePrompt(this.pool.template, input),
        max_tokens: JUDGE_MAX_TOKENS,
        temperature: 0,
        logprobs: 10,
      }),
      signal: AbortSignal.timeout(this.pool.timeout_ms),
    });
    if (!res.ok) throw new Error(`judge pool ${this.pool.url}: HTTP ${res.status}`);
    const body: unknown = await res.json();
    const usage = (body as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } } | null)?.usage;
    const count = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);
    return {
      verdict: yesProbability(body),
      usage: { prompt_tokens: count(usage?.prompt_tokens), completion_tokens: count(usage?.completion_tokens) },
      e2e_ms: performance.now() - started,
    };
  }
}

/** Tokens the judge asks for: one yes/no token. */
export const JUDGE_MAX_TOKENS = 1;

/** One judge call's answer and what it used. */
export interface LlmJudgeReply {
  /** P(yes) and how it was read; null when the reply reads neither yes nor no. */
  verdict: { p_yes: number; method: 'logprobs' | 'token' } | null;
  /** Tokens of the call (OpenAI `usage`), counts. */
  usage: { prompt_tokens: number; completion_tokens: number };
  /** Wall time of the call, ms. */
  e2e_ms: number;
}
