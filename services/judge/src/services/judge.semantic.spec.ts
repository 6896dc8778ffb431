/**
 * The judge's cache fill under a policy: the router's fill instructions (TTL per intent or SLO class, semantic scope and
 * query vector) decide what is cached on PASS, in both layers. In-memory doubles for Redis.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { InferenceCompleted } from '@llmgov/contracts';
import {
  vectorToBase64,
  type ExactCacheEntry,
  type PendingCacheFill,
  type SemanticAddOptions,
  type SemanticCacheEntry,
  type SemanticCacheLayer,
  type SemanticScope,
} from '@llmgov/persistence';
import { RecordingPublisher } from '@llmgov/testing';
import { NORMANS_CONTEXT, judgeCompletion, judgeServiceOf } from './test/judge-builders.js';

const completion = (over: Partial<InferenceCompleted> = {}): InferenceCompleted =>
  judgeCompletion({ model: 'gemma', context: NORMANS_CONTEXT.slice(0, 2), route: 'squad-qa', policy_version: 3, ...over });

function setup(pending: PendingCacheFill | undefined) {
  const exact: { key: string; entry: ExactCacheEntry; ttl: number }[] = [];
  const added: { scope: SemanticScope; entry: SemanticCacheEntry; vector: number[]; options: SemanticAddOptions }[] = [];
  const layer = {
    store: {
      add: async (scope: SemanticScope, entry: SemanticCacheEntry, vector: ArrayLike<number>, options: SemanticAddOptions) => {
        added.push({ scope, entry, vector: Array.from(vector), options });
        return 'added';
      },
    },
    records: { getPending: async () => pending },
  } as unknown as SemanticCacheLayer;
  const answers = { fill: async (_t: string, key: string, entry: ExactCacheEntry, ttl: number) => void exact.push({ key, entry, ttl }) };
  const sut = judgeServiceOf({ config: { JUDGE_MIN_QUALITY: 0.5, JUDGE_CACHE_TTL_S: 86_400 }, answers, publisher: new RecordingPublisher(), semantic: layer });
  return { sut, exact, added };
}

const instructions = (over: Partial<PendingCacheFill> = {}): PendingCacheFill => ({
  tenant_id: 'tenant-a',
  route: 'squad-qa',
  scope: 'scope1',
  ttl_s: 600,
  max_entries: 50,
  intent: 'factoid',
  vector_b64: vectorToBase64([0.5, 0.25, 0, 1]),
  ...over,
});

describe('JudgeService: cache fill under a policy', () => {
  it('fills both layers on PASS with the policy TTL; the semantic entry records quality, tier, source prompt and chunks', async () => {
    const { sut, exact, added } = setup(instructions());
    await sut.judge(completion());
    assert.deepEqual(
      exact.map((e) => [e.key, e.ttl]),
      [['abc123', 600]],
    );
    assert.equal(added.length, 1);
    const a = added[0]!;
    assert.deepEqual(a.scope, { tenantId: 'tenant-a', route: 'squad-qa', key: 'scope1' });
    assert.deepEqual(a.vector, [0.5, 0.25, 0, 1]);
    assert.deepEqual(a.options, { ttlSeconds: 600, maxEntries: 50 });
    assert.equal(a.entry.id, 'job-1');
    assert.equal(a.entry.tier, 'M');
    assert.equal(a.entry.source_prompt, 'Who were the Normans descended from?');
    assert.deepEqual(a.entry.chunk_ids, ['d1#0', 'd2#3']);
    assert.deepEqual(a.entry.document_ids, ['d1', 'd2']);
    assert.equal(a.entry.intent, 'factoid');
    assert.ok(a.entry.quality > 0.5 && a.entry.quality === exact[0]!.entry.quality, 'the judged groundedness, in both layers');
  });

  it('caches nothing when the policy TTL is 0 (an intent such as medical, or a class without cache)', async () => {
    const { sut, exact, added } = setup(instructions({ ttl_s: 0 }));
    await sut.judge(completion());
    assert.equal(exact.length + added.length, 0);
  });

  it('fills only the exact layer, for JUDGE_CACHE_TTL_S, without instructions (the built-in tier rule)', async () => {
    const { sut, exact, added } = setup(undefined);
    await sut.judge(completion());
    assert.deepEqual(
      exact.map((e) => e.ttl),
      [86_400],
    );
    assert.equal(added.length, 0);
  });

  it('caches nothing for a FAIL or a cache hit', async () => {
    const fail = setup(instructions());
    await fail.sut.judge(completion({ text: 'Completely unrelated words about bananas.' }));
    assert.equal(fail.exact.length + fail.added.length, 0);
    const hit = setup(instructions());
    await hit.sut.judge(completion({ from_cache: true }));
    assert.equal(hit.exact.length + hit.added.length, 0);
  });
});
