import { LlmEndpointError, classifyStatus, parseRetryAfter } from './errors.js';
import { SseParser, type SseEvent } from './sse.js';

export type ChatRole = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  /** One of {@link ChatRole}; other strings are passed through for servers that accept them. */
  role: ChatRole | (string & {});
  content: string;
}

/** The fields every request has, whichever OpenAI API it goes to. */
export interface CompletionRequestBase {
  /** Base URL of an OpenAI-compatible server: `http://host:8000` or `http://host:8000/v1` (the path is added). */
  endpoint: string;
  model: string;
  /** Stop sequences (OpenAI `stop`): generation ends before any of them; the server reports `finish_reason: "stop"`. */
  stop?: string[];
  /** Output cap, tokens. */
  max_tokens: number;
  temperature?: number;
  /** Absolute deadline, epoch milliseconds (`Date.now()` scale). Past it the request is aborted with a `timeout` error. */
  deadlineMs?: number;
  /** Caller cancellation; a cancelled request throws `LlmEndpointError` with `cancelled: true`. */
  signal?: AbortSignal;
  /** Extra body fields (e.g. vLLM's `ignore_eos`, `seed`); `stream` and `stream_options` are always set by the client. */
  extra?: Record<string, unknown>;
}

/** A chat request: `messages`, sent to `/v1/chat/completions`. */
export interface ChatCompletionRequest extends CompletionRequestBase {
  messages: ChatMessage[];
  prompt?: undefined;
}

/** A text (legacy) completion request: one `prompt` string, sent to `/v1/completions` (for base models). */
export interface TextCompletionRequest extends CompletionRequestBase {
  prompt: string;
  messages?: undefined;
}

/**
 * One request to an OpenAI-compatible server. Exactly one of `messages` (chat API) or `prompt` (completions API);
 * a request with both or neither is refused with a `client` {@link LlmEndpointError} before anything is sent.
 */
export type CompletionRequest = ChatCompletionRequest | TextCompletionRequest;

/** Which OpenAI API a request goes to: `chat` (`/v1/chat/completions`) or `completions` (`/v1/completions`). */
export type CompletionApi = 'chat' | 'completions';

export interface CompletionUsage {
  /** Prompt tokens as counted by the server. */
  prompt_tokens: number;
  /** Generated tokens as counted by the server. */
  completion_tokens: number;
  /** True when the server sent no usage: then prompt_tokens is 0 and completion_tokens counts content chunks. */
  estimated?: boolean;
}

/** Client-side latencies in milliseconds, measured from just before the HTTP request is sent. */
export interface CompletionTimings {
  /** Time to first token: until the first chunk carrying non-empty content (= e2e_ms when no content came). */
  ttft_ms: number;
  /** Time per output token after the first: (e2e_ms − ttft_ms) / (completion_tokens − 1); 0 with fewer than 2 tokens. */
  tpot_ms: number;
  /** End to end: until the final chunk (`[DONE]` or end of stream). */
  e2e_ms: number;
}

export interface CompletionResult {
  text: string;
  /** `stop`, `length`, or whatever the server reported (e.g. `abort`, `content_filter`). */
  finish_reason: string;
  usage: CompletionUsage;
  timings: CompletionTimings;
  /** The base URL the request went to. */
  endpoint: string;
  /** Model name as reported by the server (falls back to the requested one). */
  model: string;
  /** Completion id from the server, when given. */
  id?: string;
}

export interface ChatCompletionsClientOptions {
  /** Timeout when a request carries no `deadlineMs`, milliseconds. Default 120 000. */
  defaultTimeoutMs?: number;
  /** Extra HTTP headers for every request (e.g. `authorization`). */
  headers?: Record<string, string>;
  /** fetch implementation; default: Node's global fetch (undici, pooled keep-alive connections). */
  fetch?: typeof globalThis.fetch;
  /** Largest error body read to build a message, bytes. Default 64 KiB. */
  maxErrorBodyBytes?: number;
  /**
   * Monotonic clock for TTFT/TPOT/e2e, milliseconds (fractional). Default `performance.now`. Injected by specs so the
   * timing arithmetic is tested without depending on how fast the machine is.
   */
  now?: () => number;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `…/v1/chat/completions` for a base URL with or without a trailing `/v1`. */
export function chatCompletionsUrl(endpoint: string): string {
  return apiUrl(endpoint, 'chat/completions');
}

/** `…/v1/completions` for a base URL with or without a trailing `/v1`. */
export function completionsUrl(endpoint: string): string {
  return apiUrl(endpoint, 'completions');
}

function apiUrl(endpoint: string, path: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return /\/v1$/.test(base) ? `${base}/${path}` : `${base}/v1/${path}`;
}

/**
 * The API a request goes to, after checking its shape: exactly one of `messages` (a non-empty array of
 * `{role, content}` strings) or `prompt` (a string), and `stop` an array of strings when given.
 * @throws LlmEndpointError `client`, not retriable, naming the problem (JavaScript callers can send anything).
 */
export function requestApi(request: CompletionRequest): CompletionApi {
  const endpoint = request.endpoint;
  const invalid = (why: string): LlmEndpointError =>
    new LlmEndpointError(`invalid completion request for ${endpoint}: ${why}`, { source: 'client', retriable: false, endpoint });
  const r = request as { messages?: unknown; prompt?: unknown; stop?: unknown };
  const hasMessages = r.messages !== undefined;
  const hasPrompt = r.prompt !== undefined;
  if (hasMessages && hasPrompt) throw invalid('it has both messages (chat) and prompt (completions); give exactly one');
  if (!hasMessages && !hasPrompt) throw invalid('it has neither messages (chat) nor prompt (completions); give exactly one');
  if (r.stop !== undefined && !(Array.isArray(r.stop) && r.stop.every((s) => typeof s === 'string'))) throw invalid('stop must be an array of strings');
  if (hasPrompt) {
    if (typeof r.prompt !== 'string') throw invalid(`prompt must be a string, got ${typeof r.prompt}`);
    return 'completions';
  }
  if (!Array.isArray(r.messages) || r.messages.length === 0) throw invalid('messages must be a non-empty array');
  if (!r.messages.every((m) => isObject(m) && typeof m['role'] === 'string' && typeof m['content'] === 'string'))
    throw invalid('every message must be {role: string, content: string}');
  return 'chat';
}

/**
 * OpenAI-compatible client for the chat-completions and completions APIs that always streams, so that it can measure TTFT and TPOT as the tokens
 * arrive. Every failure is thrown as {@link LlmEndpointError}, classified for retries and circuit breakers.
 */
export class ChatCompletionsClient {
  private readonly defaultTimeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly maxErrorBodyBytes: number;
  private readonly now: () => number;

  constructor(options: ChatCompletionsClientOptions = {}) {
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 120_000;
    this.headers = options.headers ?? {};
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.maxErrorBodyBytes = options.maxErrorBodyBytes ?? 64 * 1024;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Sends one completion (streamed) and resolves with the assembled text, usage and timings: a chat completion
   * (`messages`, `/v1/chat/completions`) or a text completion (`prompt`, `/v1/completions`).
   * @throws LlmEndpointError classified as in the README; `client` for a malformed request (see {@link requestApi}).
   */
  async complete(request: CompletionRequest): Promise<CompletionResult> {
    const endpoint = request.endpoint;
    const api = requestApi(request);
    let url: string;
    try {
      url = new URL(api === 'chat' ? chatCompletionsUrl(endpoint) : completionsUrl(endpoint)).toString();
    } catch (cause) {
      throw new LlmEndpointError(`invalid endpoint URL ${JSON.stringify(endpoint)}`, { source: 'client', retriable: false, endpoint, cause });
    }
    const timeoutMs = request.deadlineMs !== undefined ? request.deadlineMs - Date.now() : this.defaultTimeoutMs;
    if (timeoutMs <= 0) {
      throw new LlmEndpointError(`deadline passed ${Math.round(-timeoutMs)} ms before the request to ${endpoint} was sent`, {
        source: 'timeout',
        retriable: true,
        endpoint,
      });
    }
    if (request.signal?.aborted) throw this.transportError(request.signal.reason, endpoint, undefined, request.signal, 'before sending');
    const timeoutSignal = AbortSignal.timeout(Math.ceil(timeoutMs));
    const signal = request.signal ? AbortSignal.any([request.signal, timeoutSignal]) : timeoutSignal;

    const body: Json = { ...request.extra, model: request.model, max_tokens: request.max_tokens };
    if (api === 'chat') body['messages'] = request.messages;
    else body['prompt'] = request.prompt;
    if (request.stop !== undefined) body['stop'] = request.stop;
    if (request.temperature !== undefined) body['temperature'] = request.temperature;
    body['stream'] = true;
    body['stream_options'] = { include_usage: true };

    const t0 = this.now();
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...this.headers },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      throw this.transportError(err, endpoint, timeoutSignal, request.signal, 'request');
    }
    if (!res.ok) throw await this.httpError(res, endpoint);

    const contentType = res.headers.get('content-type') ?? '';
    if (!contentType.includes('text/event-stream')) return this.nonStreaming(res, request, t0, timeoutSignal);
    if (res.body === null) throw new LlmEndpointError(`${endpoint} sent an empty stream`, { source: 'engine', retriable: true, endpoint, status: res.status });

    const parser = new SseParser();
    const state = {
      text: '',
      chunks: 0,
      firstAt: undefined as number | undefined,
      finish: undefined as string | undefined,
      usage: undefined as Json | undefined,
      id: undefined as string | undefined,
      model: undefined as string | undefined,
      done: false,
    };
    const reader = res.body.getReader();
    let endAt: number;
    try {
      while (!state.done) {
        const { value, done } = await reader.read();
        if (done) {
          for (const ev of parser.end()) this.onEvent(ev, state, endpoint);
          break;
        }
        for (const ev of parser.push(value)) {
          this.onEvent(ev, state, endpoint);
          if (state.done) break;
        }
      }
      endAt = this.now();
    } catch (err) {
      reader.cancel().catch(() => undefined);
      if (err instanceof LlmEndpointError) throw err;
      if (err instanceof RangeError)
        throw new LlmEndpointError(`${endpoint} sent a malformed stream: ${err.message}`, { source: 'engine', retriable: true, endpoint, cause: err });
      throw this.transportError(err, endpoint, timeoutSignal, request.signal, 'stream');
    }
    if (state.done) reader.cancel().catch(() => undefined);

    if (state.finish === undefined) {
      throw new LlmEndpointError(`stream from ${endpoint} ended before a finish_reason (${state.chunks} content chunks received)`, {
        source: state.done ? 'engine' : 'network',
        retriable: true,
        endpoint,
        status: res.status,
      });
    }
    const usage = this.usageOf(state.usage, state.chunks);
    const e2e = endAt - t0;
    const ttft = state.firstAt === undefined ? e2e : state.firstAt - t0;
    const result: CompletionResult = {
      text: state.text,
      finish_reason: state.finish,
      usage,
      timings: { ttft_ms: ttft, tpot_ms: usage.completion_tokens > 1 ? (e2e - ttft) / (usage.completion_tokens - 1) : 0, e2e_ms: e2e },
      endpoint,
      model: state.model ?? request.model,
    };
    if (state.id !== undefined) result.id = state.id;
    return result;
  }

  private onEvent(
    ev: SseEvent,
    state: {
      text: string;
      chunks: number;
      firstAt: number | undefined;
      finish: string | undefined;
      usage: Json | undefined;
      id: string | undefined;
      model: string | undefined;
      done: boolean;
    },
    endpoint: string,
  ): void {
    const data = ev.data.trim();
    if (data === '[DONE]') {
      state.done = true;
      return;
    }
    if (data.length === 0) return;
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch (cause) {
      throw new LlmEndpointError(`${endpoint} sent a stream chunk that is not JSON: ${data.slice(0, 120)}`, {
        source: 'engine',
        retriable: true,
        endpoint,
        cause,
      });
    }
    if (!isObject(chunk)) return;
    if (chunk['error'] !== undefined || chunk['object'] === 'error') {
      const e = isObject(chunk['error']) ? chunk['error'] : chunk;
      const status = typeof e['code'] === 'number' && e['code'] >= 400 && e['code'] < 600 ? e['code'] : undefined;
      const { source, retriable } = status !== undefined ? classifyStatus(status) : { source: 'engine' as const, retriable: true };
      const init: ConstructorParameters<typeof LlmEndpointError>[1] = { source, retriable, endpoint };
      if (status !== undefined) init.status = status;
      if (typeof e['code'] === 'string') init.code = e['code'];
      throw new LlmEndpointError(
        `${endpoint} reported an error mid-stream: ${typeof e['message'] === 'string' ? e['message'] : JSON.stringify(e).slice(0, 200)}`,
        init,
      );
    }
    if (typeof chunk['id'] === 'string') state.id ??= chunk['id'];
    if (typeof chunk['model'] === 'string') state.model ??= chunk['model'];
    if (isObject(chunk['usage'])) state.usage = chunk['usage'];
    const choices = Array.isArray(chunk['choices']) ? chunk['choices'] : [];
    for (const c of choices) {
      if (!isObject(c)) continue;
      const delta = isObject(c['delta']) ? c['delta'] : undefined;
      const content = delta ? delta['content'] : c['text'];
      if (typeof content === 'string' && content.length > 0) {
        state.firstAt ??= this.now();
        state.text += content;
        state.chunks++;
      }
      if (typeof c['finish_reason'] === 'string') state.finish = c['finish_reason'];
    }
  }

  private usageOf(usage: Json | undefined, chunks: number): CompletionUsage {
    const p = usage?.['prompt_tokens'];
    const c = usage?.['completion_tokens'];
    if (typeof p === 'number' && typeof c === 'number') return { prompt_tokens: p, completion_tokens: c };
    return { prompt_tokens: 0, completion_tokens: chunks, estimated: true };
  }

  /** The server ignored `stream: true` and answered JSON: accept it (TTFT = e2e). */
  private async nonStreaming(res: Response, request: CompletionRequest, t0: number, timeoutSignal: AbortSignal): Promise<CompletionResult> {
    const endpoint = request.endpoint;
    let parsed: unknown;
    try {
      parsed = JSON.parse(await res.text());
    } catch (err) {
      if (err instanceof SyntaxError)
        throw new LlmEndpointError(`${endpoint} answered 200 with neither an event stream nor JSON`, {
          source: 'engine',
          retriable: true,
          endpoint,
          status: res.status,
          cause: err,
        });
      throw this.transportError(err, endpoint, timeoutSignal, request.signal, 'body');
    }
    const e2e = this.now() - t0;
    const choice = isObject(parsed) && Array.isArray(parsed['choices']) && isObject(parsed['choices'][0]) ? parsed['choices'][0] : undefined;
    if (!isObject(parsed) || choice === undefined) {
      throw new LlmEndpointError(`${endpoint} answered 200 without choices`, { source: 'engine', retriable: true, endpoint, status: res.status });
    }
    const message = isObject(choice['message']) ? choice['message'] : {};
    const text = typeof message['content'] === 'string' ? message['content'] : typeof choice['text'] === 'string' ? choice['text'] : '';
    const usage = this.usageOf(isObject(parsed['usage']) ? parsed['usage'] : undefined, text.length > 0 ? 1 : 0);
    const result: CompletionResult = {
      text,
      finish_reason: typeof choice['finish_reason'] === 'string' ? choice['finish_reason'] : 'stop',
      usage,
      timings: { ttft_ms: e2e, tpot_ms: 0, e2e_ms: e2e },
      endpoint,
      model: typeof parsed['model'] === 'string' ? parsed['model'] : request.model,
    };
    if (typeof parsed['id'] === 'string') result.id = parsed['id'];
    return result;
  }

  private async httpError(res: Response, endpoint: string): Promise<LlmEndpointError> {
    const { source, retriable } = classifyStatus(res.status);
    let detail = '';
    let code: string | undefined;
    try {
      const text = await readLimited(res, this.maxErrorBodyBytes);
      detail = text.slice(0, 500);
      const parsed: unknown = JSON.parse(text);
      const e = isObject(parsed) ? (isObject(parsed['error']) ? parsed['error'] : parsed) : {};
      if (typeof e['message'] === 'string') detail = e['message'];
      if (typeof e['code'] === 'string') code = e['code'];
    } catch {
      // keep the raw text (or nothing)
    }
    const init: ConstructorParameters<typeof LlmEndpointError>[1] = { source, retriable, endpoint, status: res.status };
    if (code !== undefined) init.code = code;
    const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
    if (retryAfter !== undefined) init.retryAfterMs = retryAfter;
    return new LlmEndpointError(`${endpoint} answered HTTP ${res.status}${detail ? `: ${detail}` : ''}`, init);
  }

  private transportError(
    err: unknown,
    endpoint: string,
    timeoutSignal: AbortSignal | undefined,
    callerSignal: AbortSignal | undefined,
    phase: string,
  ): LlmEndpointError {
    if (callerSignal?.aborted) {
      const reason: unknown = callerSignal.reason;
      if (reason instanceof Error && reason.name === 'TimeoutError') {
        return new LlmEndpointError(`request to ${endpoint} timed out (caller signal, ${phase})`, {
          source: 'timeout',
          retriable: true,
          endpoint,
          cause: reason,
        });
      }
      return new LlmEndpointError(`request to ${endpoint} cancelled by the caller (${phase})`, {
        source: 'client',
        retriable: false,
        cancelled: true,
        endpoint,
        cause: reason,
      });
    }
    if (timeoutSignal?.aborted) {
      return new LlmEndpointError(`request to ${endpoint} timed out (${phase})`, { source: 'timeout', retriable: true, endpoint, cause: err });
    }
    const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
    const why = cause?.code ?? cause?.message ?? (err as Error | undefined)?.message ?? String(err);
    return new LlmEndpointError(`connection to ${endpoint} failed (${phase}): ${why}`, { source: 'network', retriable: true, endpoint, cause: err });
  }
}

/** Reads at most `limit` bytes of a body as UTF-8 and drops the rest. */
async function readLimited(res: Response, limit: number): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
      size += value.length;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(parts).subarray(0, limit).toString('utf8');
}
