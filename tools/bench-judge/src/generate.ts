import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ChatCompletionsClient, type CompletionRequest } from '@llmgov/llm-clients';
import { localEngines, spawnManaged, type ManagedProcess } from '@llmgov/platform';
import type { BenchQuestion } from './dataset.js';

/** A model answer to one bench question, as generated (the labelled-answer file holds one per line). */
export interface GeneratedAnswer extends BenchQuestion {
  model: string;
  text: string;
  finish_reason: string;
}

interface PoolTemplate {
  api: 'chat' | 'completions';
  stop?: string[];
  prompt?: string;
  messages?: { role: string; content: string }[];
}

interface TierPool {
  model: string;
  url: string;
  template: PoolTemplate;
}

/**
 * Tier S and M of a pool file (infra/pools/local-llama.json): model, first endpoint, prompt template.
 * @throws Error when the file or a template cannot be read.
 */
export function readPools(poolFile: string): Record<'S' | 'M', TierPool> {
  const pools = JSON.parse(readFileSync(poolFile, 'utf8')) as {
    pools: Record<string, { model: string; prompt_template: string; endpoints: { url: string }[] }>;
  };
  const tier = (t: 'S' | 'M'): TierPool => {
    const p = pools.pools[t];
    if (!p?.endpoints[0]) throw new Error(`${poolFile}: no pool or endpoint for tier ${t}`);
    const template = JSON.parse(readFileSync(path.resolve(path.dirname(poolFile), p.prompt_template), 'utf8')) as PoolTemplate;
    return { model: p.model, url: p.endpoints[0].url, template };
  };
  return { S: tier('S'), M: tier('M') };
}

/**
 * The request body of the pool's template for one question with one context chunk, as the inference worker builds it
 * (`[1] <chunk>` for `{{context}}`). Written here, not imported: the worker's Mustache renderer lives in a service, which
 * a tool may not import (ADR 0004), and these templates only use the two plain variables substituted below.
 * @throws Error when the template uses anything else (a section or another variable).
 */
export function renderTemplate(t: PoolTemplate, question: string, context: string): Pick<CompletionRequest, 'prompt' | 'messages' | 'stop'> {
  const fill = (s: string) => {
    const out = s.replaceAll('{{context}}', `[1] ${context}`).replaceAll('{{question}}', question);
    const rest = s.replaceAll('{{context}}', '').replaceAll('{{question}}', '');
    if (rest.includes('{{')) throw new Error(`prompt template uses more than {{context}} and {{question}}: ${s.slice(0, 80)}`);
    return out;
  };
  const stop = t.stop ? { stop: [...t.stop] } : {};
  if (t.api === 'completions') return { prompt: fill(t.prompt ?? ''), ...stop } as Pick<CompletionRequest, 'prompt' | 'stop'>;
  return { messages: (t.messages ?? []).map((m) => ({ role: m.role, content: fill(m.content) })), ...stop } as Pick<CompletionRequest, 'messages' | 'stop'>;
}

/** Starts the llama.cpp engines of tiers S and M (tools/platform `localEngines('llama')`); the caller stops them. */
export async function startLlmEngines(root: string, logDir: string): Promise<ManagedProcess[]> {
  const specs = localEngines('llama', root).engines.filter((e) => e.role === 'llm');
  return Promise.all(
    specs.map((e) =>
      spawnManaged({
        name: e.name,
        ...(e.command ? { command: e.command } : {}),
        script: e.script,
        args: e.args,
        env: process.env,
        port: e.port,
        logDir,
        readyPath: e.readyPath,
        readyTimeoutMs: e.readyTimeoutMs,
      }),
    ),
  );
}

/** Answers every question on its tier's engine, `concurrency` requests at a time; `onAnswer` sees each as it comes. */
export async function generateAnswers(
  questions: readonly BenchQuestion[],
  pools: Record<'S' | 'M', TierPool>,
  opts: { concurrency: number; maxTokens: number; onAnswer?: (a: GeneratedAnswer, done: number) => void },
): Promise<GeneratedAnswer[]> {
  const client = new ChatCompletionsClient({ defaultTimeoutMs: 300_000 });
  const out: GeneratedAnswer[] = new Array(questions.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < questions.length) {
      const i = next++;
      const q = questions[i]!;
      const pool = pools[q.tier];
      const r = await client.complete({
        endpoint: pool.url,
        model: pool.model,
        max_tokens: opts.maxTokens,
        temperature: 0,
        ...renderTemplate(pool.template, q.question, q.context),
      } as CompletionRequest);
      out[i] = { ...q, model: r.model, text: r.text.trim(), finish_reason: r.finish_reason };
      opts.onAnswer?.(out[i], ++done);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return out;
}
