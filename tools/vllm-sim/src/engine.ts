import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from './clock.js';
import { ApiError, badRequest, quote } from './errors.js';
import { extractiveAnswer, questionFromChat, questionFromPrompt } from './answer.js';
import { SimMetrics } from './metrics.js';
import { resolveOptions, type EngineOptions, type ResolvedOptions } from './options.js';
import { Scheduler, type FinishReason, type Sequence, type SequenceSpec } from './scheduler.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';
import { parseFaultPatch, parseGenerationRequest, type FaultPatch, type GenerationRequest } from './validation.js';

/** Counters for benchmarks and tests (`GET /_sim/stats`, `EngineHandle.stats()`). */
export interface SimStats {
  /** Generation requests accepted by the scheduler (running at once or queued). */
  admitted: number;
  /** Requests refused with 503 because the waiting queue was full. */
  rejected: number;
  /** Requests finished with `stop` or `length`. */
  completed: number;
  /** Requests aborted (client disconnect or engine shutdown). */
  aborted: number;
  /** Requests answered with an injected error status. */
  failed_injected: number;
  /** Requests held open by the `hang` fault. */
  hung: number;
  preemptions: number;
  max_waiting_seen: number;
  max_running_seen: number;
  /** Current values. */
  running: number;
  waiting: number;
  kv_cache_usage: number;
}

export interface FaultSettings {
  fail_rate: number;
  fail_status: number;
  hang: boolean;
}

/** A running engine. */
export interface EngineHandle {
  /** Base URL, e.g. `http://127.0.0.1:18000` (append `/v1/...`). */
  readonly url: string;
  readonly port: number;
  readonly models: readonly string[];
  /**
   * Stops the engine. With `graceMs` > 0 it first stops accepting connections and waits up to that long for
   * in-flight sequences to finish; whatever remains is aborted and every connection is closed.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
  stats(): SimStats;
  /** Same as `POST /_sim/faults`. */
  setFaults(patch: FaultPatch): FaultSettings;
  /** Same as `POST /_sim/reset`: clears faults (back to the start-up options) and zeroes the stats counters. */
  reset(): void;
}

const FILLER_TEXT = ' The simulated engine is generating filler tokens because ignore_eos was requested, so it keeps going until max_tokens.';

/** ChatML-style template overhead added to chat prompts: per message, and once for the reply primer. */
const CHAT_TOKENS_PER_MESSAGE = 4;
const CHAT_TOKENS_REPLY_PRIMER = 3;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function zeroStats(): Omit<SimStats, 'running' | 'waiting' | 'kv_cache_usage'> {
  return { admitted: 0, rejected: 0, completed: 0, aborted: 0, failed_injected: 0, hung: 0, preemptions: 0, max_waiting_seen: 0, max_running_seen: 0 };
}

/** Starts a simulated vLLM engine on `options.host:options.port` (default 127.0.0.1, a free port). */
export async function startEngine(options: EngineOptions = {}): Promise<EngineHandle> {
  const opts = resolveOptions(options);
  const tokenizer = await loadTokenizer(opts.tokenizer);
  const engine = new SimEngine(opts, tokenizer);
  return engine.listen();
}

class SimEngine {
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly metrics: SimMetrics;
  private readonly server: Server;
  private readonly random: () => number;
  private counters = zeroStats();
  private faults: FaultSettings;
  private readonly hanging = new Set<ServerResponse>();
  private idleWaiters: Array<() => void> = [];
  private fillerPieces: string[] | undefined;
  private closing = false;

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly tokenizer: Tokenizer,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.random = mulberry32(opts.seed);
    this.faults = this.initialFaults();
    this.scheduler = new Scheduler(opts, this.clock, {
      onStarted: (seq, queueMs) => {
        this.metrics.observeQueue(queueMs);
        this.metrics.observePrompt(seq.spec.promptTokens);
      },
      onToken: (seq, index, sinceMs) => {
        this.metrics.observeToken(index === 0, sinceMs, (seq.firstTokenAt ?? this.clock.now()) - seq.arrivalAt);
      },
      onFinished: (_seq, reason, e2eMs) => {
        this.metrics.observeFinish(reason, e2eMs);
        if (reason === 'abort') this.counters.aborted++;
        else this.counters.completed++;
      },
      onPreempted: () => {
        this.metrics.observePreemption();
        this.counters.preemptions++;
      },
      onStateChange: () => this.onStateChange(),
    });
    this.metrics = new SimMetrics(opts.models[0]!, () => this.scheduler.snapshot());
    this.server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 5_000 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  listen(): Promise<EngineHandle> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        const port = (this.server.address() as AddressInfo).port;
        const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
        resolve({
          url: `http://${host}:${port}`,
          port,
          models: this.opts.models,
          close: (o) => this.close(o?.graceMs ?? 0),
          stats: () => this.stats(),
          setFaults: (p) => this.setFaults(p),
          reset: () => this.reset(),
        });
      });
    });
  }

  private initialFaults(): FaultSettings {
    return { fail_rate: this.opts.failRate, fail_status: this.opts.failStatus, hang: this.opts.hang };
  }

  stats(): SimStats {
    const snap = this.scheduler.snapshot();
    return { ...this.counters, running: snap.running, waiting: snap.waiting, kv_cache_usage: snap.kvUsage };
  }

  setFaults(patch: FaultPatch): FaultSettings {
    this.faults = { ...this.faults, ...patch };
    if (!this.faults.hang) this.releaseHanging();
    return { ...this.faults };
  }

  reset(): void {
    this.faults = this.initialFaults();
    if (!this.faults.hang) this.releaseHanging();
    const snap = this.scheduler.snapshot();
    this.counters = { ...zeroStats(), max_running_seen: snap.running, max_waiting_seen: snap.waiting };
  }

  private onStateChange(): void {
    const snap = this.scheduler.snapshot();
    if (snap.running > this.counters.max_running_seen) this.counters.max_running_seen = snap.running;
    if (snap.waiting > this.counters.max_waiting_seen) this.counters.max_waiting_seen = snap.waiting;
    if (this.scheduler.idle && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Hung requests are answered 503 when the fault is lifted, so clients are not left waiting forever. */
  private releaseHanging(): void {
    for (const res of this.hanging) {
      if (!res.headersSent && !res.destroyed)
        this.sendError(res, new ApiError(503, 'request was held by the hang fault, which has been lifted', 'hang_released'));
    }
    this.hanging.clear();
  }

  private async close(graceMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (graceMs > 0 && !this.scheduler.idle) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.scheduler.close();
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    if (graceMs > 0) {
      // Let finished responses flush and their keep-alive sockets close by themselves, briefly.
      this.server.closeIdleConnections();
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, Math.min(graceMs, 1000)).unref())]);
    }
    this.server.closeAllConnections();
    await closed;
  }

  // ---------------------------------------------------------------- HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';
    const route = (m: string): boolean => {
      if (method === m) return true;
      throw new ApiError(405, `method ${method} is not allowed on ${path}; use ${m}`, 'method_not_allowed');
    };
    switch (path) {
      case '/v1/chat/completions':
        route('POST');
        return this.generate('chat', req, res);
      case '/v1/completions':
        route('POST');
        return this.generate('completion', req, res);
      case '/v1/models':
        route('GET');
        return this.sendJson(res, 200, {
          object: 'list',
          data: this.opts.models.map((id) => ({
            id,
            object: 'model',
            created: 0,
            owned_by: 'vllm-sim',
            root: id,
            parent: null,
            max_model_len: this.opts.maxModelLen,
          })),
        });
      case '/health':
        route('GET');
        res.writeHead(200, { 'content-length': 0 }).end();
        return;
      case '/metrics': {
        route('GET');
        const text = await this.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text);
        return;
      }
      case '/_sim/stats':
        route('GET');
        return this.sendJson(res, 200, this.stats());
      case '/_sim/faults':
        if (method === 'GET') return this.sendJson(res, 200, this.faults);
        route('POST');
        return this.sendJson(res, 200, this.setFaults(parseFaultPatch(await this.readJson(req, res))));
      case '/_sim/reset':
        route('POST');
        await this.readBody(req, res);
        this.reset();
        return this.sendJson(res, 200, { reset: true, faults: this.faults });
      default:
        throw new ApiError(404, `no route for ${method} ${quote(path, 200)}`, 'not_found');
    }
  }

  /** Reads the body up to the configured limit; beyond it answers 400 and drops the connection once answered. */
  private readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer> {
    const limit = this.opts.bodyLimitBytes;
    const tooLarge = (): ApiError => {
      res.shouldKeepAlive = false;
      return badRequest(`request body exceeds the limit of ${limit} bytes`, null, 'body_too_large');
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      return Promise.reject(tooLarge());
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      req.on('data', (chunk: Buffer) => {
        if (failed) return;
        size += chunk.length;
        if (size > limit) {
          failed = true;
          chunks.length = 0;
          reject(tooLarge());
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        if (!failed) resolve(Buffer.concat(chunks, size));
      });
      req.on('error', (err) => {
        if (!failed) reject(err);
        failed = true;
      });
    });
  }

  private async readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const body = await this.readBody(req, res);
    if (body.length === 0) throw badRequest('request body is empty; expected a JSON object', null, 'invalid_json');
    try {
      return JSON.parse(body.toString('utf8')) as unknown;
    } catch (err) {
      throw badRequest(`request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`, null, 'invalid_json');
    }
  }

  private promptTokensOf(r: GenerationRequest): number {
    if (r.messages) {
      let n = CHAT_TOKENS_REPLY_PRIMER;
      for (const m of r.messages) n += CHAT_TOKENS_PER_MESSAGE + this.tokenizer.count(m.content);
      return n;
    }
    return typeof r.prompt === 'string' ? this.tokenizer.count(r.prompt) : (r.prompt?.length ?? 0);
  }

  private plan(r: GenerationRequest, promptTokens: number): SequenceSpec {
    const maxLen = this.opts.maxModelLen;
    if (promptTokens >= maxLen) {
      throw badRequest(
        `This model's maximum context length is ${maxLen} tokens; the prompt has ${promptTokens} tokens and leaves no room for output.`,
        r.messages ? 'messages' : 'prompt',
        'context_length_exceeded',
      );
    }
    if (r.maxTokens !== undefined && promptTokens + r.maxTokens > maxLen) {
      throw badRequest(
        `This model's maximum context length is ${maxLen} tokens. However, you requested ${promptTokens + r.maxTokens} tokens (${promptTokens} in the prompt, ${r.maxTokens} for the completion).`,
        'max_tokens',
        'context_length_exceeded',
      );
    }
    const maxTokens = r.maxTokens ?? Math.min(this.opts.defaultMaxTokens, maxLen - promptTokens);

    if (r.ignoreEos || this.opts.ignoreEos) {
      const filler = this.filler();
      const pieces = new Array<string>(maxTokens);
      for (let i = 0; i < maxTokens; i++) pieces[i] = filler[i % filler.length]!;
      return { promptTokens, pieces, finishReason: 'length' };
    }
    const qc = r.messages
      ? questionFromChat(r.messages)
      : questionFromPrompt(typeof r.prompt === 'string' ? r.prompt : this.tokenizer.decodeLenient(r.prompt ?? []));
    let text = extractiveAnswer(qc);
    for (const s of r.stop) {
      const i = text.indexOf(s);
      if (i >= 0) text = text.slice(0, i);
    }
    let tokens = this.tokenizer.encode(text);
    let finishReason: 'stop' | 'length' = 'stop';
    if (tokens.length > maxTokens) {
      tokens = tokens.slice(0, maxTokens);
      finishReason = 'length';
    }
    return { promptTokens, pieces: this.tokenizer.pieces(tokens), finishReason };
  }

  private filler(): string[] {
    if (!this.fillerPieces) this.fillerPieces = this.tokenizer.pieces(this.tokenizer.encode(FILLER_TEXT));
    return this.fillerPieces;
  }

  private async generate(kind: 'chat' | 'completion', req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.readJson(req, res);
    const r = parseGenerationRequest(kind, body, this.tokenizer.vocabSize);
    if (!this.opts.models.includes(r.model)) {
      throw new ApiError(404, `The model ${quote(r.model, 200)} does not exist. Served models: ${this.opts.models.join(', ')}`, 'model_not_found', 'model');
    }
    const promptTokens = this.promptTokensOf(r);
    const spec = this.plan(r, promptTokens);
    if (this.closing) throw new ApiError(503, 'engine is shutting down', 'shutting_down');

    if (this.faults.hang) {
      this.counters.hung++;
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (this.faults.fail_rate > 0 && this.random() < this.faults.fail_rate) {
      this.counters.failed_injected++;
      throw new ApiError(this.faults.fail_status, `injected fault (fail_rate=${this.faults.fail_rate})`, 'injected_fault');
    }
    if (res.destroyed || req.socket.destroyed) return; // client already gone

    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
    const created = Math.floor(Date.now() / 1000);
    const base = { id, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model: r.model };
    let text = '';
    let generated = 0;
    const usage = (): { prompt_tokens: number; completion_tokens: number; total_tokens: number } => ({
      prompt_tokens: promptTokens,
      completion_tokens: generated,
      total_tokens: promptTokens + generated,
    });
    const sse = (obj: unknown): void => {
      res.write(`data: ${JSON.stringify(obj)}\n\n`);
    };

    const onToken = (piece: string, index: number): void => {
      generated = index + 1;
      if (!r.stream) {
        text += piece;
        return;
      }
      if (kind === 'chat') {
        if (index === 0) sse({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] });
        sse({ ...base, choices: [{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }] });
      } else {
        sse({ ...base, choices: [{ index: 0, text: piece, logprobs: null, finish_reason: null }] });
      }
    };
    const onFinish = (reason: FinishReason): void => {
      if (reason === 'abort') {
        if (!res.destroyed) res.destroy();
        return;
      }
      if (res.destroyed) return;
      if (r.stream) {
        if (kind === 'chat') {
          if (generated === 0) sse({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] });
          sse({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: reason }] });
        } else {
          sse({ ...base, choices: [{ index: 0, text: '', logprobs: null, finish_reason: reason }] });
        }
        if (r.includeUsage) sse({ ...base, choices: [], usage: usage() });
        res.end('data: [DONE]\n\n');
        return;
      }
      const choice =
        kind === 'chat'
          ? { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: reason }
          : { index: 0, text, logprobs: null, finish_reason: reason };
      this.sendJson(res, 200, {
        id,
        object: kind === 'chat' ? 'chat.completion' : 'text_completion',
        created,
        model: r.model,
        choices: [choice],
        usage: usage(),
      });
    };

    let seq: Sequence | undefined;
    try {
      seq = this.scheduler.submit(spec, { onToken, onFinish });
    } catch (err) {
      if (err instanceof RangeError) throw badRequest(err.message, null, 'context_length_exceeded');
      throw err;
    }
    if (seq === undefined) {
      this.counters.rejected++;
      this.metrics.observeRejected('queue_full');
      const snap = this.scheduler.snapshot();
      throw new ApiError(
        503,
        `The engine is at capacity: ${snap.running} running, ${snap.waiting} waiting (queue limit ${this.opts.maxWaiting}). Retry later.`,
        'queue_full',
      );
    }
    this.counters.admitted++;
    const accepted = seq;
    res.on('close', () => {
      if (!res.writableFinished) this.scheduler.abort(accepted);
    });
    if (r.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': id });
      res.flushHeaders();
    }
  }

  private sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
  }

  private sendError(res: ServerResponse, err: ApiError): void {
    const headers: Record<string, string> = {};
    if (err.status === 503 || err.status === 429) headers['retry-after'] = '1';
    if (!res.shouldKeepAlive) headers['connection'] = 'close';
    this.sendJson(res, err.status, err.toJSON(), headers);
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    if (err instanceof ApiError) {
      this.sendError(res, err);
      return;
    }
    this.sendError(res, new ApiError(500, `internal error: ${(err as Error)?.message ?? String(err)}`, 'internal_error'));
  }
}
