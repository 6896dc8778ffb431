import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dryRun } from './dry-run.js';
import { runReplay, type ReplayIO } from './engine.js';
import { ReplayHeaders } from './headers.js';
import { REPLAY_FEATURE, reprocessTarget, type OutRecord, type SourceRecord } from './target.js';
import type { PartitionRange } from './spec.js';

/** An in-memory topic: values are JSON (the fake's "Avro"); publishAndCommit records what was sent and committed. */
class FakeIO implements ReplayIO {
  published: OutRecord[] = [];
  committed = new Map<number, bigint>();
  transactions = 0;
  failAfterTransactions = Infinity;
  constructor(readonly log: Map<number, SourceRecord[]>) {}

  async read(opts: Parameters<ReplayIO['read']>[0]): Promise<void> {
    for (const r of opts.ranges) {
      const records = (this.log.get(r.partition) ?? []).filter((m) => m.offset >= r.start && m.offset < r.end);
      // batches of 3, as a fetch would hand them over
      for (let i = 0; i < records.length; i += 3) {
        if (opts.signal?.aborted) return;
        const batch = records.slice(i, i + 3);
        await opts.onBatch(r.partition, batch, batch.at(-1)!.offset + 1n);
      }
    }
  }
  async decode(value: Buffer | null): Promise<unknown> {
    if (!value || value[0] !== 0x7b) throw new Error('not a record');
    return JSON.parse(value.toString());
  }
  async encodeLike(_like: Buffer, value: unknown): Promise<Buffer> {
    return Buffer.from(JSON.stringify(value));
  }
  async publishAndCommit(opts: Parameters<ReplayIO['publishAndCommit']>[0]): Promise<void> {
    if (this.transactions >= this.failAfterTransactions) throw new Error('broker gone');
    this.transactions += 1;
    this.published.push(...opts.records);
    for (const o of opts.offsets) this.committed.set(o.partition, o.next);
  }
}

const rec = (partition: number, offset: number, value: object | string): SourceRecord => ({
  partition,
  offset: BigInt(offset),
  timestamp: 1_795_000_000_000 + offset * 1000,
  key: Buffer.from(`k${offset}`),
  value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers: { traceparent: 'tp' },
});

function topic(): Map<number, SourceRecord[]> {
  const p0: SourceRecord[] = [];
  const p1: SourceRecord[] = [];
  for (let i = 0; i < 10; i++)
    p0.push(rec(0, i, { event_id: `e0-${i}`, tenant_id: i % 2 === 0 ? 'tenant-a' : 'tenant-b', route: 'squad-qa', prompt: 'q', feature: null, metadata: {} }));
  for (let i = 0; i < 5; i++)
    p1.push(rec(1, i, { event_id: `e1-${i}`, tenant_id: 'tenant-a', route: i < 2 ? 'support-faq' : null, prompt: 'q', feature: 'search', metadata: {} }));
  p1.push(rec(1, 5, 'garbage'));
  return new Map([
    [0, p0],
    [1, p1],
  ]);
}

const ranges: PartitionRange[] = [
  { partition: 0, start: 2n, end: 9n },
  { partition: 1, start: 0n, end: 6n },
];

describe('runReplay', () => {
  it('republishes exactly the matching records of the ranges, with the replay headers and the replay feature', async () => {
    const io = new FakeIO(topic());
    const r = await runReplay({ replayId: 'rp-1', topic: 't', groupId: 'g', ranges, filter: { tenant: 'tenant-a' }, target: reprocessTarget, io });
    assert.equal(r.completed, true);
    assert.deepEqual(
      io.published.map((o) => o.headers[ReplayHeaders.originEventId]),
      ['e0-2', 'e0-4', 'e0-6', 'e0-8', 'e1-0', 'e1-1', 'e1-2', 'e1-3', 'e1-4'],
    );
    assert.deepEqual(
      { scanned: r.scanned, matched: r.matched, republished: r.republished, undecodable: r.undecodable },
      { scanned: 13, matched: 9, republished: 9, undecodable: 1 },
    );
    const first = io.published[0]!;
    assert.equal(first.headers[ReplayHeaders.replayId], 'rp-1');
    assert.equal(first.headers[ReplayHeaders.originPosition], '0:2');
    assert.equal(first.headers.traceparent, 'tp');
    assert.equal(first.partition, 0);
    assert.equal(first.key!.toString(), 'k2');
    const v = JSON.parse(io.published[4]!.value!.toString()) as { feature: string; metadata: Record<string, string>; event_id: string };
    assert.equal(v.feature, REPLAY_FEATURE);
    assert.equal(v.metadata['replay.original_feature'], 'search');
    assert.equal(v.event_id, 'e1-0', 'the envelope is unchanged');
    assert.deepEqual(
      [...io.committed],
      [
        [0, 9n],
        [1, 6n],
      ],
    );
  });

  it('bills only requests as the replay feature: a usage record keeps its own', async () => {
    const usage = rec(0, 0, { event_id: 'u1', tenant_id: 'tenant-a', kind: 'COMPLETION', prompt_tokens: 3, feature: 'qa' });
    const io = new FakeIO(new Map([[0, [usage]]]));
    await runReplay({ replayId: 'rp-u', topic: 't', groupId: 'g', ranges: [{ partition: 0, start: 0n, end: 1n }], filter: {}, target: reprocessTarget, io });
    assert.deepEqual(io.published[0]!.value, usage.value, 'bytes unchanged');
  });

  it('keeps the first origin when a replayed record is replayed again', async () => {
    const log = topic();
    log.get(0)![2]!.headers[ReplayHeaders.originEventId] = 'the-original';
    const io = new FakeIO(log);
    await runReplay({ replayId: 'rp-2', topic: 't', groupId: 'g', ranges: [{ partition: 0, start: 2n, end: 3n }], filter: {}, target: reprocessTarget, io });
    assert.equal(io.published[0]!.headers[ReplayHeaders.originEventId], 'the-original');
  });

  it('stops on the signal, and a resume from the checkpoint republishes the rest once', async () => {
    const io = new FakeIO(topic());
    const stop = new AbortController();
    const checkpoints: bigint[][] = [];
    const first = await runReplay({
      replayId: 'rp-3',
      topic: 't',
      groupId: 'g',
      ranges,
      filter: {},
      target: reprocessTarget,
      io,
      maxRecordsPerTransaction: 2,
      signal: stop.signal,
      checkpoint: async (p) => {
        checkpoints.push([p.positions.get(0)!, p.positions.get(1)!]);
        if (p.republished >= 4) stop.abort();
      },
    });
    assert.equal(first.completed, false);
    assert.ok(first.republished >= 4 && first.republished < 12, String(first.republished));
    const second = await runReplay({
      replayId: 'rp-3',
      topic: 't',
      groupId: 'g',
      ranges,
      resumeFrom: first.positions,
      counts: first,
      filter: {},
      target: reprocessTarget,
      io,
    });
    assert.equal(second.completed, true);
    const origins = io.published.map((o) => o.headers[ReplayHeaders.originPosition]);
    assert.equal(new Set(origins).size, origins.length, 'no record republished twice');
    assert.equal(origins.length, 12);
    assert.equal(second.republished, 12);
    assert.ok(
      checkpoints.every((c, i) => i === 0 || (c[0]! >= checkpoints[i - 1]![0]! && c[1]! >= checkpoints[i - 1]![1]!)),
      'checkpoints only move forward',
    );
  });

  it('a failed transaction leaves the checkpoint at the last committed chunk', async () => {
    const io = new FakeIO(topic());
    io.failAfterTransactions = 1;
    let saved: bigint | undefined;
    await assert.rejects(
      runReplay({
        replayId: 'rp-4',
        topic: 't',
        groupId: 'g',
        ranges: [{ partition: 0, start: 0n, end: 10n }],
        filter: {},
        target: reprocessTarget,
        io,
        maxRecordsPerTransaction: 2,
        checkpoint: async (p) => void (saved = p.positions.get(0)),
      }),
      /broker gone/,
    );
    assert.equal(saved, 2n);
    assert.equal(io.committed.get(0), 2n);
    assert.equal(io.published.length, 2);
  });
});

describe('dryRun', () => {
  it('counts by tenant, route and topic, the time span, and prices prompts with the catalog', async () => {
    const log = new Map<number, SourceRecord[]>([
      [
        0,
        [
          rec(0, 0, { event_id: 'a', tenant_id: 'tenant-a', route: 'squad-qa', prompt: 'one two three', system_prompt: null, options: { max_tokens: 10 } }),
          rec(0, 1, { event_id: 'b', tenant_id: 'tenant-b', route: null, prompt: 'four', system_prompt: null, options: { max_tokens: 10 } }),
          rec(0, 2, { event_id: 'c', tenant_id: 'tenant-a', route: 'squad-qa', model: 'priced', prompt: 'five six', max_tokens: 20 }),
        ],
      ],
    ]);
    const catalog = {
      version: 'test-v1',
      models: { priced: { kind: 'api' as const, input_per_1m_tokens: 2, output_per_1m_tokens: 4 } },
      default: { kind: 'api' as const, input_per_1m_tokens: 1, output_per_1m_tokens: 3 },
    };
    // One token per word: the estimate's arithmetic is checked, not the tokenizer.
    const words = (t: string) => t.split(/\s+/).filter(Boolean).length;
    const r = await dryRun({
      topic: 't',
      groupId: 'g',
      ranges: [{ partition: 0, start: 0n, end: 3n }],
      filter: {},
      io: new FakeIO(log),
      catalog,
      countTokens: words,
    });
    assert.deepEqual(r.by_tenant, { 'tenant-a': 2, 'tenant-b': 1 });
    assert.deepEqual(r.by_route, { 'squad-qa': 2, '(default)': 1 });
    assert.deepEqual(r.by_topic, { t: 3 });
    assert.equal(r.span_s, 2);
    // a: 3 prompt + 10 out at default = 3*1 + 10*3 = 33 micro-USD; b: 1 + 30 = 31; c: 2*2 + 20*4 = 84.
    assert.equal(r.cost.micro_usd, 33 + 31 + 84);
    assert.deepEqual(r.cost.records_by_price, { default: 2, priced: 1 });
  });
});
