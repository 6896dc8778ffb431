import { readFileSync, statSync } from 'node:fs';
import Mustache, { type TemplateSpans } from 'mustache';
import { z } from 'zod';
import type { ContextChunk } from '@llmgov/contracts';
import type { ChatMessage } from '@llmgov/llm-clients';

/** The variables a template may use; any other name is refused when the template is loaded. */
export const PROMPT_VARIABLES = ['system_prompt', 'question', 'context'] as const;

/** Largest template file read, bytes: a prompt template is a few hundred bytes. */
export const MAX_TEMPLATE_FILE_BYTES = 64 * 1024;

const apiSchema = z.enum(['chat', 'completions']);

/**
 * A versioned prompt template file (see infra/prompts/README.md): `name` and `version` identify it in logs and
 * metrics (`name@version`); `api` must be the pool's. Chat templates have `messages`, completions templates a
 * `prompt`; `stop` is sent as the OpenAI `stop` field; `max_context_chunks` caps the retrieved chunks placed in
 * `{{context}}` (default: all of them).
 */
export const promptTemplateSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only'),
    version: z.int().min(1),
    api: apiSchema,
    messages: z
      .array(z.strictObject({ role: z.enum(['system', 'developer', 'user', 'assistant']), content: z.string() }))
      .min(1)
      .optional(),
    prompt: z.string().min(1).optional(),
    stop: z.array(z.string().min(1)).min(1).max(16).optional(),
    max_context_chunks: z.int().min(1).optional(),
  })
  .superRefine((t, ctx) => {
    if (t.api === 'chat') {
      if (t.messages === undefined) ctx.addIssue({ code: 'custom', path: ['messages'], message: 'a chat template needs messages' });
      if (t.prompt !== undefined) ctx.addIssue({ code: 'custom', path: ['prompt'], message: 'a chat template has messages, not a prompt' });
    } else {
      if (t.prompt === undefined) ctx.addIssue({ code: 'custom', path: ['prompt'], message: 'a completions template needs a prompt' });
      if (t.messages !== undefined) ctx.addIssue({ code: 'custom', path: ['messages'], message: 'a completions template has a prompt, not messages' });
    }
  });

/** A loaded, validated template: the file's fields plus where it came from. */
export type PromptTemplate = z.infer<typeof promptTemplateSchema> & {
  /** Absolute path of the file it was read from. */
  file: string;
};

export class PromptTemplateError extends Error {
  override readonly name = 'PromptTemplateError';
}

/** `name@version`, the identity logged and exported as a metric label. */
export const templateId = (t: Pick<PromptTemplate, 'name' | 'version'>): string => `${t.name}@${t.version}`;

/**
 * Checks one template text: Mustache syntax (unclosed tags and sections throw), and only the known variables
 * ({@link PROMPT_VARIABLES}, or `.` inside a section); partials are refused (a template is one self-contained file).
 * Returns the problems, empty when it is fine.
 */
function templateTextProblems(text: string): string[] {
  let tokens: TemplateSpans;
  try {
    tokens = Mustache.parse(text);
  } catch (err) {
    return [`not a valid Mustache template: ${(err as Error).message}`];
  }
  const problems: string[] = [];
  const walk = (spans: TemplateSpans): void => {
    for (const span of spans) {
      const [type, value] = span;
      if (type === '>') problems.push(`partials ({{> ${value}}}) are not supported`);
      if (type === 'name' || type === '&' || type === '#' || type === '^') {
        if (value !== '.' && !(PROMPT_VARIABLES as readonly string[]).includes(value))
          problems.push(`unknown variable {{${value}}} (known: ${PROMPT_VARIABLES.join(', ')})`);
      }
      const children = span[4];
      if (Array.isArray(children)) walk(children);
    }
  };
  walk(tokens);
  return problems;
}

/**
 * Validates template JSON text. `source` names the file in messages.
 * @throws PromptTemplateError naming the file and every invalid field (JSON, schema, Mustache syntax, unknown variables).
 */
export function parsePromptTemplate(text: string, source: string): PromptTemplate {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PromptTemplateError(`prompt template ${source}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = promptTemplateSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new PromptTemplateError(`prompt template ${source}: ${problems.join('; ')}`);
  }
  const t = parsed.data;
  const texts: [string, string][] = t.prompt !== undefined ? [['prompt', t.prompt]] : (t.messages ?? []).map((m, i) => [`messages.${i}.content`, m.content]);
  const problems = texts.flatMap(([field, text]) => templateTextProblems(text).map((p) => `${field}: ${p}`));
  if (problems.length > 0) throw new PromptTemplateError(`prompt template ${source}: ${problems.join('; ')}`);
  return { ...t, file: source };
}

/** Reads and validates a template file. @throws PromptTemplateError when it cannot be read, is too large or is invalid. */
export function loadPromptTemplate(file: string): PromptTemplate {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_TEMPLATE_FILE_BYTES) throw new Error(`${size} bytes, more than the ${MAX_TEMPLATE_FILE_BYTES} allowed`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PromptTemplateError(`cannot read prompt template ${file}: ${(err as Error).message}`);
  }
  return parsePromptTemplate(text, file);
}

/** What a template is rendered with. */
export interface PromptInput {
  systemPrompt: string;
  /** The user's question (the request's `prompt`). */
  question: string;
  /** Retrieved chunks in retrieval order; at most `max_context_chunks` of them are used. */
  context: readonly ContextChunk[];
}

/** A rendered request body part: chat `messages`, or a completions `prompt`; `stop` when the template has one. */
export type RenderedPrompt = { api: 'chat'; messages: ChatMessage[]; stop?: string[] } | { api: 'completions'; prompt: string; stop?: string[] };

/** `{{context}}`: `[1] text`, `[2] text`, … joined by blank lines, the first `max` chunks in retrieval order ('' when none). */
export function contextBlock(chunks: readonly ContextChunk[], max = Number.POSITIVE_INFINITY): string {
  return chunks
    .slice(0, max)
    .map((c, i) => `[${i + 1}] ${c.text}`)
    .join('\n\n');
}

/**
 * Renders a template with Mustache (mustache.js), HTML escaping turned off: values are inserted verbatim and never
 * parsed as template text, so a question or chunk containing `{{`, `}}` or `<` comes out literally. An empty context
 * renders `{{context}}` as '' and skips `{{#context}}…{{/context}}` sections.
 */
export function renderPrompt(template: PromptTemplate, input: PromptInput): RenderedPrompt {
  const view: Record<(typeof PROMPT_VARIABLES)[number], string> = {
    system_prompt: input.systemPrompt,
    question: input.question,
    context: contextBlock(input.context, template.max_context_chunks),
  };
  const render = (text: string): string => Mustache.render(text, view, {}, { escape: (v: unknown) => String(v) });
  const stop = template.stop !== undefined ? { stop: [...template.stop] } : {};
  if (template.api === 'completions') return { api: 'completions', prompt: render(template.prompt ?? ''), ...stop };
  return { api: 'chat', messages: (template.messages ?? []).map((m) => ({ role: m.role, content: render(m.content) })), ...stop };
}
