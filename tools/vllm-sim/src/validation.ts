import { badRequest, quote } from './errors.js';
import type { ChatMessageText } from './answer.js';

/** A generation request after validation. Fields not modelled by the simulator (temperature, top_p, …) are checked for type and ignored. */
export interface GenerationRequest {
  kind: 'chat' | 'completion';
  model: string;
  stream: boolean;
  includeUsage: boolean;
  /** Requested output cap; undefined = engine default. */
  maxTokens: number | undefined;
  /** vLLM extension: generate exactly max_tokens tokens. */
  ignoreEos: boolean;
  stop: string[];
  /** Chat requests. */
  messages: ChatMessageText[] | undefined;
  /** Completion requests: text or token ids. */
  prompt: string | number[] | undefined;
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);
const MAX_MESSAGES = 10_000;
const MAX_STOP = 16;
/** Upper bound accepted for any token count field before comparing with the model's context length. */
const MAX_INT = 2 ** 31 - 1;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function optionalBoolean(body: Json, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`\`${key}\` must be a boolean, got ${describe(v)}`, key);
  return v;
}

function optionalNumber(body: Json, key: string, min: number, max: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badRequest(`\`${key}\` must be a number, got ${describe(v)}`, key);
  if (v < min || v > max) throw badRequest(`\`${key}\` must be between ${min} and ${max}, got ${v}`, key);
  return v;
}

function optionalPositiveInt(body: Json, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw badRequest(`\`${key}\` must be an integer, got ${typeof v === 'number' ? String(v) : describe(v)}`, key);
  }
  if (v < 1 || v > MAX_INT) throw badRequest(`\`${key}\` must be at least 1 and at most ${MAX_INT}, got ${v}`, key);
  return v;
}

function contentText(content: unknown, path: string): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const parts: string[] = [];
    content.forEach((part, i) => {
      if (!isObject(part) || part['type'] !== 'text' || typeof part['text'] !== 'string') {
        throw badRequest(`${path}[${i}] must be a text part {"type":"text","text":string}; this engine accepts text only`, path);
      }
      parts.push(part['text']);
    });
    return parts.join('\n');
  }
  throw badRequest(`${path} must be a string, an array of text parts or null, got ${describe(content)}`, path);
}

function parseMessages(v: unknown): ChatMessageText[] {
  if (v === undefined || v === null) throw badRequest('`messages` is required', 'messages');
  if (!Array.isArray(v)) throw badRequest(`\`messages\` must be an array, got ${describe(v)}`, 'messages');
  if (v.length === 0) throw badRequest('`messages` must contain at least one message', 'messages');
  if (v.length > MAX_MESSAGES) throw badRequest(`\`messages\` has ${v.length} entries; at most ${MAX_MESSAGES} are accepted`, 'messages');
  return v.map((m, i) => {
    if (!isObject(m)) throw badRequest(`messages[${i}] must be an object, got ${describe(m)}`, 'messages');
    const role = m['role'];
    if (typeof role !== 'string' || !ROLES.has(role)) {
      throw badRequest(`messages[${i}].role must be one of ${[...ROLES].join(', ')}; got ${quote(role)}`, 'messages');
    }
    return { role, content: contentText(m['content'], `messages[${i}].content`) };
  });
}

function parsePrompt(v: unknown, vocabSize: number): string | number[] {
  if (v === undefined || v === null) throw badRequest('`prompt` is required', 'prompt');
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    // A batch of one prompt is accepted; larger batches are not modelled.
    if (v.length === 1 && (typeof v[0] === 'string' || Array.isArray(v[0]))) return parsePrompt(v[0], vocabSize);
    if (v.length > 0 && v.every((x) => typeof x === 'number')) {
      for (let i = 0; i < v.length; i++) {
        const id = v[i] as number;
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
          throw badRequest(`prompt[${i}] = ${String(id)} is not a token id of this tokenizer (0..${vocabSize - 1})`, 'prompt');
        }
      }
      return v as number[];
    }
    if (v.length === 0) throw badRequest('`prompt` must not be an empty array', 'prompt');
    throw badRequest('`prompt` must be a string, an array of token ids, or a one-element array of either (batched prompts are not supported)', 'prompt');
  }
  throw badRequest(`\`prompt\` must be a string or an array of token ids, got ${describe(v)}`, 'prompt');
}

function parseStop(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return v.length > 0 ? [v] : [];
  if (Array.isArray(v) && v.length <= MAX_STOP && v.every((s) => typeof s === 'string')) {
    return (v as string[]).filter((s) => s.length > 0);
  }
  throw badRequest(`\`stop\` must be a string or an array of at most ${MAX_STOP} strings`, 'stop');
}

/**
 * Validates the JSON body of `/v1/chat/completions` or `/v1/completions`. Throws {@link ApiError} 400 with a message
 * naming the offending field. `vocabSize` bounds token-id prompts.
 */
export function parseGenerationRequest(kind: 'chat' | 'completion', body: unknown, vocabSize: number): GenerationRequest {
  if (!isObject(body)) throw badRequest(`request body must be a JSON object, got ${describe(body)}`);
  const model = body['model'];
  if (model === undefined || model === null) throw badRequest('`model` is required', 'model');
  if (typeof model !== 'string' || model.length === 0) throw badRequest('`model` must be a non-empty string', 'model');

  const n = body['n'];
  if (n !== undefined && n !== null && n !== 1) throw badRequest('only `n` = 1 is supported by this engine', 'n');
  const bestOf = body['best_of'];
  if (bestOf !== undefined && bestOf !== null && bestOf !== 1) throw badRequest('only `best_of` = 1 is supported by this engine', 'best_of');

  const stream = optionalBoolean(body, 'stream') ?? false;
  const streamOptions = body['stream_options'];
  let includeUsage = false;
  if (streamOptions !== undefined && streamOptions !== null) {
    if (!isObject(streamOptions)) throw badRequest('`stream_options` must be an object', 'stream_options');
    includeUsage = optionalBoolean(streamOptions, 'include_usage') ?? false;
  }
  optionalNumber(body, 'temperature', 0, 2);
  optionalNumber(body, 'top_p', 0, 1);
  optionalNumber(body, 'presence_penalty', -2, 2);
  optionalNumber(body, 'frequency_penalty', -2, 2);
  const seed = body['seed'];
  if (seed !== undefined && seed !== null && (typeof seed !== 'number' || !Number.isInteger(seed))) throw badRequest('`seed` must be an integer', 'seed');

  const maxTokens = optionalPositiveInt(body, 'max_tokens') ?? optionalPositiveInt(body, 'max_completion_tokens');
  optionalPositiveInt(body, 'min_tokens');
  const ignoreEos = optionalBoolean(body, 'ignore_eos') ?? false;
  const stop = parseStop(body['stop']);

  return {
    kind,
    model,
    stream,
    includeUsage,
    maxTokens,
    ignoreEos,
    stop,
    messages: kind === 'chat' ? parseMessages(body['messages']) : undefined,
    prompt: kind === 'completion' ? parsePrompt(body['prompt'], vocabSize) : undefined,
  };
}

/** Validated body of `POST /_sim/faults`. */
export interface FaultPatch {
  fail_rate?: number;
  fail_status?: number;
  hang?: boolean;
}

export function parseFaultPatch(body: unknown): FaultPatch {
  if (!isObject(body)) throw badRequest('fault settings must be a JSON object');
  const known = new Set(['fail_rate', 'fail_status', 'hang']);
  for (const k of Object.keys(body)) if (!known.has(k)) throw badRequest(`unknown fault setting ${quote(k)}; expected fail_rate, fail_status or hang`, k);
  const out: FaultPatch = {};
  const rate = optionalNumber(body, 'fail_rate', 0, 1);
  if (rate !== undefined) out.fail_rate = rate;
  const status = body['fail_status'];
  if (status !== undefined && status !== null) {
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) {
      throw badRequest('`fail_status` must be an integer HTTP status between 400 and 599', 'fail_status');
    }
    out.fail_status = status;
  }
  const hang = optionalBoolean(body, 'hang');
  if (hang !== undefined) out.hang = hang;
  return out;
}
