import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './clock.js';
import { Scheduler, type FinishReason, type SchedulerConfig, type SequenceSpec } from './scheduler.js';

const base: SchedulerConfig = {
  maxNumSeqs: 8,
  maxWaiting: 16,
  kvCacheTokens: 10_000,
  prefillBaseMs: 0,
  prefillMsPerToken: 0,
  decodeBaseMs: 10,
  decodeMsPerSeq: 1,
};

function spec(promptTokens: number, outputTokens: number, finishReason: 'stop' | 'length' = 'length'): SequenceSpec {
  return { promptTokens, pieces: Array.from({ length: outputTokens }, (_, i) => `t${i}`), finishReason };
}

interface Trace {
  tokens: string[];
  times: number[];
  finished: FinishReason | undefined;
  finishedAt: number | undefined;
}

function setup(overrides: Partial<SchedulerConfig> = {}) {
  const clock = new ManualClock();
  const config = { ...base, ...overrides };
  let preemptions = 0;
  let maxKv = 0;
  const scheduler = new Scheduler(config, clock, {
    onPreempted: () => preemptions++,
    onStateChange: () => {
      maxKv = Math.max(maxKv, scheduler.snapshot().kvUsedTokens);
    },
  });
  const submit = (s: SequenceSpec) => {
    const trace: Trace = { tokens: [], times: [], finished: undefined, finishedAt: undefined };
    const seq = scheduler.submit(s, {
      onToken: (piece) => {
        trace.tokens.push(piece);
        trace.times.push(clock.now());
        maxKv = Math.max(maxKv, scheduler.snapshot().kvUsedTokens);
      },
      onFinish: (reason) => {
        trace.finished = reason;
        trace.finishedAt = clock.now();
      },
    });
    return { seq, trace };
  };
  return { clock, scheduler, submit, stats: () => ({ preemptions, maxKv }) };
}

describe('Scheduler admission and queue cap', () => {
  it('runs at most maxNumSeqs, queues up to maxWaiting, and refuses beyond', () => {
    const { scheduler, submit } = setup({ maxNumSeqs: 2, maxWaiting: 2 });
    const accepted = [submit(spec(10, 5)), submit(spec(10, 5)), submit(spec(10, 5)), submit(spec(10, 5))];
    assert.ok(accepted.every((a) => a.seq !== undefined));
    assert.deepEqual({ running: scheduler.snapshot().running, waiting: scheduler.snapshot().waiting }, { running: 2, waiting: 2 });
    assert.equal(submit(spec(10, 5)).seq, undefined, 'fifth request must be refused (queue full)');
  });

  it('with maxWaiting 0 it is pure admission control at maxNumSeqs', () => {
    const { submit } = setup({ maxNumSeqs: 1, maxWaiting: 0 });
    assert.ok(submit(spec(1, 1)).seq);
    assert.equal(submit(spec(1, 1)).seq, undefined);
  });

  it('admits waiting sequences FIFO as slots free up', () => {
    const { clock, submit } = setup({ maxNumSeqs: 1, maxWaiting: 4 });
    const a = submit(spec(1, 2));
    const b = submit(spec(1, 2));
    const c = submit(spec(1, 2));
    clock.runUntilIdle();
    assert.ok(a.trace.finishedAt! < b.trace.finishedAt! && b.trace.finishedAt! < c.trace.finishedAt!);
    assert.equal(a.seq!.startedAt, 0);
    assert.equal(b.seq!.startedAt, a.trace.finishedAt);
  });

  it('refuses a prompt that can never fit the KV cache', () => {
    const { scheduler } = setup({ kvCacheTokens: 100 });
    assert.throws(() => scheduler.submit(spec(100, 1), { onToken() {}, onFinish() {} }), RangeError);
  });
});

describe('Scheduler KV-cache accounting', () => {
  it('holds prompt + generated tokens and admits only when the prompt fits', () => {
    const { clock, scheduler, submit } = setup({ kvCacheTokens: 100 });
    const a = submit(spec(40, 3));
    const b = submit(spec(40, 3));
    const c = submit(spec(40, 3));
    assert.equal(a.seq!.state, 'running');
    assert.equal(b.seq!.state, 'running');
    assert.equal(c.seq!.state, 'waiting', 'third prompt does not fit next to two 40-token prompts');
    assert.equal(scheduler.snapshot().kvUsedTokens, 80);
    assert.equal(scheduler.snapshot().kvUsage, 0.8);
    clock.advance(0); // first step: prefill both, each produces its first token
    assert.equal(a.trace.tokens.length, 1);
    assert.equal(scheduler.snapshot().kvUsedTokens, 82 + 2, 'one token each, plus the token reserved for the step in flight');
    clock.runUntilIdle();
    assert.equal(c.trace.tokens.length, 3);
    assert.equal(scheduler.snapshot().kvUsedTokens, 0);
    assert.equal(scheduler.snapshot().kvUsage, 0);
  });

  it('preempts the newest sequence when running sequences outgrow the cache, and still finishes everything', () => {
    const { clock, scheduler, submit, stats } = setup({ kvCacheTokens: 100 });
    const a = submit(spec(45, 20));
    const b = submit(spec(45, 20));
    clock.runUntilIdle();
    assert.ok(stats().preemptions >= 1);
    assert.ok(stats().maxKv <= 100, `KV held ${stats().maxKv} > capacity`);
    assert.equal(a.trace.tokens.length, 20);
    assert.equal(b.trace.tokens.length, 20);
    assert.deepEqual(b.trace.tokens, spec(45, 20).pieces, 'tokens continue where they stopped after recompute');
    assert.ok(a.trace.finishedAt! < b.trace.finishedAt!);
    assert.equal(scheduler.snapshot().kvUsedTokens, 0);
  });

  it('abort frees the slot and KV at once and lets the next waiting sequence in', () => {
    const { clock, scheduler, submit } = setup({ maxNumSeqs: 1, kvCacheTokens: 1000 });
    const a = submit(spec(100, 50));
    const b = submit(spec(100, 2));
    clock.advance(25);
    scheduler.abort(a.seq!);
    assert.equal(a.trace.finished, 'abort');
    assert.equal(scheduler.snapshot().running, 0);
    assert.equal(scheduler.snapshot().kvUsedTokens, 0);
    clock.runUntilIdle();
    assert.equal(b.trace.finished, 'length');
    assert.ok(a.trace.tokens.length < 50);
  });
});

describe('Scheduler timing', () => {
  it('prefill time = base + per-token × prompt tokens', () => {
    const { clock, submit } = setup({ prefillBaseMs: 5, prefillMsPerToken: 0.05 });
    const a = submit(spec(200, 1));
    clock.runUntilIdle();
    assert.equal(a.trace.times[0], 5 + 0.05 * 200);
  });

  it('decode step time grows with the number of running sequences', () => {
    const tpot = (batch: number): number => {
      const { clock, submit } = setup({ decodeBaseMs: 10, decodeMsPerSeq: 1 });
      const seqs = Array.from({ length: batch }, () => submit(spec(10, 5)));
      clock.runUntilIdle();
      const t = seqs[0]!.trace.times;
      return (t[t.length - 1]! - t[0]!) / (t.length - 1);
    };
    assert.equal(tpot(1), 11);
    assert.equal(tpot(4), 14);
    assert.equal(tpot(8), 18);
  });

  it('a sequence prefilled mid-run slows that step for everyone', () => {
    const { clock, submit } = setup({ prefillBaseMs: 20, prefillMsPerToken: 0, decodeBaseMs: 10, decodeMsPerSeq: 0 });
    const a = submit(spec(1, 4));
    clock.advance(1); // a's prefill step is in flight
    const b = submit(spec(1, 1));
    clock.runUntilIdle();
    // a: prefill step ends at 20; the next step decodes a and prefills b: 10 + 20.
    assert.deepEqual(a.trace.times.slice(0, 2), [20, 50]);
    assert.deepEqual(b.trace.times, [50]);
  });

  it('uses one timer and goes idle when there is no work', () => {
    const { clock, submit } = setup();
    submit(spec(1, 3));
    assert.equal(clock.pending, 1);
    clock.advance(5);
    assert.equal(clock.pending, 1);
    clock.runUntilIdle();
    assert.equal(clock.pending, 0);
  });
});
