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
   * P(yes) for one answer, or null when the reply reads neither yes nor no.
   * @throws Error on a network failure, a timeout (`timeout_ms`) or a non-2xx status (the caller falls back to the cheap checks).
   */
  async supportProbability(input: {
    question: string;
    context: readonly string[];
    answer: string;
  }): Promise<{ p_yes: number; method: 'logprobs' | 'token' } | null> {
    const res = await this.fetchImpl(`${this.pool.url.replace(/\/+$/, '')}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: this.pool.model, prompt: renderJudgePrompt(this.pool.template, input), max_tokens: 1, temperature: 0, logprobs: 10 }),
      signal: AbortSignal.timeout(this.pool.timeout_ms),
    });
    if (!res.ok) throw new Error(`judge pool ${this.pool.url}: HTTP ${res.status}`);
    return yesProbability(await res.json());
  }
}
