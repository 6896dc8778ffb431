import type { Clock, TimerHandle } from './clock.js';

/** Capacity and timing model of the simulated engine. All durations in milliseconds. */
export interface SchedulerConfig {
  /** Maximum sequences in the running batch (vLLM `--max-num-seqs`). */
  maxNumSeqs: number;
  /** Maximum sequences in the waiting queue; a request arriving when it is full is rejected. */
  maxWaiting: number;
  /** KV-cache capacity in tokens; a sequence holds prompt + generated tokens. */
  kvCacheTokens: number;
  /** Fixed cost of prefilling one sequence, ms. */
  prefillBaseMs: number;
  /** Prefill cost per prompt token, ms. */
  prefillMsPerToken: number;
  /** Fixed cost of one decode step, ms. */
  decodeBaseMs: number;
  /** Decode step cost per sequence in the batch, ms. */
  decodeMsPerSeq: number;
}

export type FinishReason = 'stop' | 'length' | 'abort';

/** What one request asks the engine to do. */
export interface SequenceSpec {
  /** Prompt length in tokens (what prefill costs and what the KV cache must hold). */
  promptTokens: number;
  /** Text of each output token, in order; its length is the number of decode outputs. */
  pieces: readonly string[];
  /** Reason reported when every piece has been emitted. */
  finishReason: 'stop' | 'length';
}

/** Callbacks for one sequence; invoked synchronously from the step loop. */
export interface SequenceEvents {
  onToken(piece: string, index: number): void;
  onFinish(reason: FinishReason): void;
}

/** Engine-wide observations (metrics, stats). Times in ms from {@link Clock.now}. */
export interface SchedulerObserver {
  onStarted?(seq: Sequence, queueMs: number): void;
  onToken?(seq: Sequence, index: number, sinceLastMs: number): void;
  onFinished?(seq: Sequence, reason: FinishReason, e2eMs: number): void;
  onPreempted?(seq: Sequence): void;
  onStateChange?(): void;
}

export type SequenceState = 'waiting' | 'running' | 'finished' | 'aborted';

export class Sequence {
  state: SequenceState = 'waiting';
  /** Output tokens emitted so far. */
  generated = 0;
  /** KV-cache tokens currently held (0 while waiting). */
  kv = 0;
  /** True once the prompt has been prefilled in the current residency (reset by preemption). */
  prefilled = false;
  startedAt: number | undefined;
  firstTokenAt: number | undefined;
  lastTokenAt: number | undefined;
  finishReason: FinishReason | undefined;

  constructor(
    readonly id: number,
    readonly spec: SequenceSpec,
    readonly events: SequenceEvents,
    readonly arrivalAt: number,
  ) {}

  /** Tokens that must be (re)computed when the sequence is (re)admitted: prompt + tokens generated before a preemption. */
  get contextTokens(): number {
    return this.spec.promptTokens + this.generated;
  }
}

export interface SchedulerSnapshot {
  running: number;
  waiting: number;
  kvUsedTokens: number;
  kvCapacityTokens: number;
  /** kvUsedTokens / kvCapacityTokens, 0..1 */
  kvUsage: number;
}

/** Beyond this lag behind the virtual step schedule the loop resynchronises to the wall clock instead of catching up. */
const MAX_CATCH_UP_MS = 50;

/**
 * Continuous-batching scheduler driven by a single timer.
 *
 * Model: the engine runs steps back to back while it has work. At the start of a step, waiting sequences are admitted
 * FIFO while a sequence slot and KV room are free; every sequence in the batch then produces one token at the end of
 * the step. A step lasts the prefill time of the sequences admitted into it plus, when any sequence is already decoding,
 * `decodeBaseMs + decodeMsPerSeq × decoding sequences`. A request arriving while a slot and KV room are free (and nobody
 * is waiting) is admitted at once and prefilled in the next step. When running sequences outgrow the KV cache, the
 * most recently admitted one is preempted back to the head of the waiting queue and recomputed later (vLLM's
 * recompute preemption).
 */
export class Scheduler {
  private readonly running: Sequence[] = [];
  private readonly waiting: Sequence[] = [];
  private kvUsed = 0;
  private nextId = 0;
  private timer: TimerHandle | undefined;
  /** Sequences whose tokens are produced by the step in flight. */
  private batch: Sequence[] = [];
  private closed = false;

  constructor(
    readonly config: SchedulerConfig,
    private readonly clock: Clock,
    private readonly observer: SchedulerObserver = {},
  ) {}

  /**
   * Accepts a sequence, or returns `undefined` when the waiting queue is full (the caller answers 503).
   * Throws if the prompt can never fit the KV cache (the caller validates this first and answers 400).
   */
  submit(spec: SequenceSpec, events: SequenceEvents): Sequence | undefined {
    if (this.closed) return undefined;
    if (spec.promptTokens + 1 > this.config.kvCacheTokens) {
      throw new RangeError(`prompt of ${spec.promptTokens} tokens cannot fit a KV cache of ${this.config.kvCacheTokens} tokens`);
    }
    const seq = new Sequence(++this.nextId, spec, events, this.clock.now());
    if (this.waiting.length === 0 && this.canAdmit(seq)) {
      this.admit(seq);
    } else if (this.waiting.length < this.config.maxWaiting) {
      this.waiting.push(seq);
    } else {
      return undefined;
    }
    this.observer.onStateChange?.();
    this.kick();
    return seq;
  }

  /** Aborts a waiting or running sequence, freeing its slot and KV at once. No-op when already done. */
  abort(seq: Sequence): void {
    if (seq.state === 'waiting') {
      const i = this.waiting.indexOf(seq);
      if (i >= 0) this.waiting.splice(i, 1);
    } else if (seq.state === 'running') {
      this.release(seq);
    } else {
      return;
    }
    this.finish(seq, 'abort');
    this.observer.onStateChange?.();
  }

  snapshot(): SchedulerSnapshot {
    return {
      running: this.running.length,
      waiting: this.waiting.length,
      kvUsedTokens: this.kvUsed,
      kvCapacityTokens: this.config.kvCacheTokens,
      kvUsage: this.kvUsed / this.config.kvCacheTokens,
    };
  }

  /** True when nothing is running or waiting. */
  get idle(): boolean {
    return this.running.length === 0 && this.waiting.length === 0;
  }

  /** Stops the loop and aborts every sequence. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    for (const seq of [...this.waiting, ...this.running]) this.abort(seq);
  }

  private canAdmit(seq: Sequence): boolean {
    if (this.running.length >= this.config.maxNumSeqs) return false;
    // Room for its context plus one new token for every sequence in the next step (including itself).
    return this.kvUsed + seq.contextTokens + this.running.length + 1 <= this.config.kvCacheTokens;
  }

  private admit(seq: Sequence): void {
    seq.state = 'running';
    seq.prefilled = false;
    seq.kv = seq.contextTokens;
    this.kvUsed += seq.kv;
    this.running.push(seq);
    if (seq.startedAt === undefined) {
      seq.startedAt = this.clock.now();
      this.observer.onStarted?.(seq, seq.startedAt - seq.arrivalAt);
    }
  }

  private release(seq: Sequence): void {
    const i = this.running.indexOf(seq);
    if (i >= 0) this.running.splice(i, 1);
    this.kvUsed -= seq.kv;
    seq.kv = 0;
  }

  private finish(seq: Sequence, reason: FinishReason): void {
    seq.state = reason === 'abort' ? 'aborted' : 'finished';
    seq.finishReason = reason;
    this.observer.onFinished?.(seq, reason, this.clock.now() - seq.arrivalAt);
    seq.events.onFinish(reason);
  }

  /** Starts the loop if it is idle and there is work. */
  private kick(): void {
    if (this.timer !== undefined || this.closed || this.idle) return;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.startStep(this.clock.now());
    }, 0);
  }

  private startStep(start: number): void {
    // Admission, FIFO with head-of-line blocking.
    while (this.waiting.length > 0) {
      const head = this.waiting[0]!;
      if (!this.canAdmit(head)) {
        if (this.running.length > 0) break;
        // Alone and still too big: only a sequence preempted after growing to the whole cache. It is done.
        this.waiting.shift();
        this.finish(head, 'length');
        continue;
      }
      this.waiting.shift();
      this.admit(head);
    }
    // Growth: each sequence in the batch gains one token this step; preempt the newest until that fits.
    while (this.running.length > 1 && this.kvUsed + this.running.length > this.config.kvCacheTokens) {
      const victim = this.running[this.running.length - 1]!;
      this.release(victim);
      victim.state = 'waiting';
      victim.prefilled = false;
      this.waiting.unshift(victim);
      this.observer.onPreempted?.(victim);
    }
    if (this.running.length === 1 && this.kvUsed + 1 > this.config.kvCacheTokens) {
      // Cannot happen when requests are validated against max_model_len <= capacity; stop the sequence rather than overflow.
      const only = this.running[0]!;
      this.release(only);
      this.finish(only, 'length');
    }
    this.observer.onStateChange?.();
    if (this.running.length === 0) {
      this.batch = [];
      return;
    }

    let prefillMs = 0;
    let decoding = 0;
    for (const seq of this.running) {
      if (seq.prefilled) decoding++;
      else prefillMs += this.config.prefillBaseMs + this.config.prefillMsPerToken * seq.contextTokens;
      seq.kv += 1; // the token produced by this step
      this.kvUsed += 1;
    }
    const decodeMs = decoding > 0 ? this.config.decodeBaseMs + this.config.decodeMsPerSeq * decoding : 0;
    const deadline = start + prefillMs + decodeMs;
    this.batch = [...this.running];
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.endStep(deadline);
    }, deadline - this.clock.now());
  }

  private endStep(deadline: number): void {
    const now = this.clock.now();
    const batch = this.batch;
    this.batch = [];
    for (const seq of batch) {
      if (seq.state !== 'running') continue; // aborted or preempted meanwhile
      seq.prefilled = true;
      if (seq.generated < seq.spec.pieces.length) {
        const index = seq.generated;
        seq.generated++;
        const since = seq.lastTokenAt === undefined ? now - (seq.startedAt ?? seq.arrivalAt) : now - seq.lastTokenAt;
        if (seq.firstTokenAt === undefined) seq.firstTokenAt = now;
        seq.lastTokenAt = now;
        this.observer.onToken?.(seq, index, since);
        seq.events.onToken(seq.spec.pieces[index]!, index);
      } else {
        // Nothing left to emit (empty output): give back the token reserved for this step.
        seq.kv -= 1;
        this.kvUsed -= 1;
      }
      if (seq.state === 'running' && seq.generated >= seq.spec.pieces.length) {
        this.release(seq);
        this.finish(seq, seq.spec.finishReason);
      }
    }
    if (this.closed) return;
    if (this.idle) {
      this.observer.onStateChange?.();
      return;
    }
    // Back-to-back steps keep to the virtual schedule (absorbing timer jitter) unless far behind.
    this.startStep(now - deadline > MAX_CATCH_UP_MS ? now : deadline);
  }
}
