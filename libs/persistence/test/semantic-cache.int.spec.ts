/**
 * RedisSemanticCache against the real Redis of the local stack (`infra/local/up.sh`, then `set -a; . .local/stack.env`);
 * skipped when REDIS_URL is absent. Each test has its own tenant id; time is an injected clock (no sleeps).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  RedisSemanticCache,
  SemanticCacheKeys,
  SemanticCacheRecords,
  createRedis,
  semanticScopeKey,
  type Redis,
  type SemanticCacheEntry,
  type SemanticScope,
} from '../src/index.js';

const REDIS_URL = process.env.REDIS_URL;
const run = randomUUID().slice(0, 8);
const T0 = Date.UTC(2026, 10, 5, 12);
const SPACE = 'chunks_test-space_4_v1';

/** A 4-dimension vector at angle `deg` from [1,0,0,0] in the first plane: cosine to it is cos(deg). */
const at = (deg: number): number[] => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180), 0, 0];

const entry = (id: string, over: Partial<SemanticCacheEntry> = {}): SemanticCacheEntry => ({
  id,
  route: 'squad-qa',
  text: `answer of ${id}`,
  finish_reason: 'stop',
  model: 'm',
  tier: 'S',
  context: [],
  quality: 0.8,
  source_prompt: `prompt of ${id}`,
  chunk_ids: [`${id}-c1`, 'shared-chunk'],
  document_ids: [`${id}-doc`],
  intent: null,
  created_at: 0,
  expires_at: 0,
  ...over,
});

describe('RedisSemanticCache against Redis', { skip: REDIS_URL ? false : 'REDIS_URL is not set' }, () => {
  let redis: Redis;
  let other: Redis;
  const tenants: string[] = [];
  let n = 0;
  const newScope = (route = 'squad-qa'): SemanticScope => {
    const tenantId = `sc-${run}-${n++}`;
    tenants.push(tenantId);
    return {
      tenantId,
      route,
      key: semanticScopeKey({ route, systemPrompt: null, rag: true, tierTemplates: 'S=t@1', indexVersion: SPACE, modelGeneration: 'g' }),
    };
  };
  const opts = (now = T0) => ({ defaultThreshold: 0.9, embeddingSpace: SPACE, now });
  const add = (cache: RedisSemanticCache, scope: SemanticScope, id: string, deg: number, over: Partial<SemanticCacheEntry> = {}, now = T0, ttl = 3600) =>
    cache.add(scope, entry(id, over), at(deg), { ttlSeconds: ttl, maxEntries: 100, now });

  before(() => {
    redis = createRedis(REDIS_URL!);
    other = createRedis(REDIS_URL!);
  });
  after(async () => {
    for (const t of tenants) {
      const keys = await redis.keys(`semcache:{${t}}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
    other.disconnect();
  });

  it('serves the nearest entry at or above the threshold, and misses below it', async () => {
    const cache = new RedisSemanticCache(redis);
    const scope = newScope();
    assert.equal(await add(cache, scope, 'j1', 0), 'added');
    assert.equal(await add(cache, scope, 'j2', 60), 'added');
    // cos(10°) = 0.985: j1 is nearest and above 0.9.
    const hit = await cache.lookup(scope, at(10), opts());
    assert.equal(hit.entry?.id, 'j1');
    assert.equal(hit.entry?.source_prompt, 'prompt of j1');
    assert.ok(Math.abs(hit.similarity! - Math.cos((10 * Math.PI) / 180)) < 1e-6);
    assert.equal(hit.thresholdSource, 'policy');
    assert.equal(hit.scanned, 2);
    // cos(30°) = 0.866 < 0.9: the nearest is reported, nothing is served.
    const miss = await cache.lookup(scope, at(30), opts());
    assert.equal(miss.entry, undefined);
    assert.ok(Math.abs(miss.similarity! - Math.cos((30 * Math.PI) / 180)) < 1e-6);
    // Scale does not matter (vectors are normalised).
    assert.equal(
      (
        await cache.lookup(
          scope,
          at(10).map((x) => x * 7),
          opts(),
        )
      ).entry?.id,
      'j1',
    );
  });

  it('uses the calibrated threshold of the tenant and route when it was measured in the same embedding space', async () => {
    const cache = new RedisSemanticCache(redis);
    const records = new SemanticCacheRecords(redis);
    const scope = newScope();
    await add(cache, scope, 'j1', 0);
    const calibrated = {
      threshold: 0.8,
      target: 0.02,
      false_hit_upper_bound: 0.019,
      false_hit_rate: 0.01,
      pairs: 500,
      hits: 300,
      embedding_space: SPACE,
      source: 'test',
      calibrated_at: new Date(T0).toISOString(),
    };
    await records.setThreshold(scope.tenantId, scope.route, calibrated);
    const hit = await cache.lookup(scope, at(30), opts());
    assert.equal(hit.entry?.id, 'j1');
    assert.equal(hit.threshold, 0.8);
    assert.equal(hit.thresholdSource, 'calibrated');
    // Another embedding space: the policy default applies.
    const elsewhere = await cache.lookup(scope, at(30), { ...opts(), embeddingSpace: 'chunks_other_4_v1' });
    assert.equal(elsewhere.entry, undefined);
    assert.equal(elsewhere.thresholdSource, 'policy');
    assert.deepEqual(await records.getThreshold(scope.tenantId, scope.route), calibrated);
  });

  it("keeps another reader's copy current: additions as a delta, removals by a full reload", async () => {
    const writer = new RedisSemanticCache(redis);
    const reader = new RedisSemanticCache(other);
    const scope = newScope();
    await add(writer, scope, 'j1', 0);
    assert.equal((await reader.lookup(scope, at(0), opts())).entry?.id, 'j1');
    await add(writer, scope, 'j2', 90);
    assert.equal((await reader.lookup(scope, at(90), opts())).entry?.id, 'j2');
    assert.equal(await writer.invalidateDocuments(scope.tenantId, ['j2-doc']), 1);
    const after = await reader.lookup(scope, at(90), opts());
    assert.equal(after.entry, undefined);
    assert.equal(after.scanned, 1, 'the reloaded copy no longer holds j2');
  });

  it('drops an entry when a chunk it was built from is re-indexed, and every entry that shares the chunk', async () => {
    const cache = new RedisSemanticCache(redis);
    const scope = newScope();
    await add(cache, scope, 'j1', 0);
    await add(cache, scope, 'j2', 90);
    await add(cache, scope, 'j3', 180, { chunk_ids: ['j3-only'] });
    assert.equal(await cache.invalidateChunks(scope.tenantId, ['unrelated']), 0);
    assert.equal(await cache.invalidateChunks(scope.tenantId, ['shared-chunk']), 2);
    assert.equal((await cache.lookup(scope, at(0), opts())).entry, undefined);
    assert.equal((await cache.lookup(scope, at(180), opts())).entry?.id, 'j3');
    assert.equal(await redis.exists(SemanticCacheKeys.entry(scope.tenantId, scope.key, 'j1')), 0);
    assert.equal(await redis.exists(SemanticCacheKeys.chunkDeps(scope.tenantId, 'shared-chunk')), 0);
    // Invalidating again finds nothing.
    assert.equal(await cache.invalidateChunks(scope.tenantId, ['shared-chunk', 'j1-c1']), 0);
  });

  it('expires entries by their TTL and evicts the oldest over the maximum', async () => {
    const cache = new RedisSemanticCache(redis);
    const scope = newScope();
    await add(cache, scope, 'short', 0, {}, T0, 10);
    assert.equal((await cache.lookup(scope, at(0), opts(T0 + 9_000))).entry?.id, 'short');
    assert.equal((await cache.lookup(scope, at(0), opts(T0 + 11_000))).entry, undefined);
    for (let i = 0; i < 4; i++) await cache.add(scope, entry(`e${i}`), at(20 * i + 1), { ttlSeconds: 3600, maxEntries: 3, now: T0 + 20_000 + i });
    assert.equal(await redis.hlen(`${SemanticCacheKeys.scopePrefix(scope.tenantId, scope.key)}vec`), 3);
    assert.equal((await cache.lookup(scope, at(1), { ...opts(T0 + 30_000), defaultThreshold: 0.999 })).entry, undefined, 'e0 was evicted');
    assert.equal((await cache.lookup(scope, at(61), { ...opts(T0 + 30_000), defaultThreshold: 0.999 })).entry?.id, 'e3');
  });

  it('is idempotent for a repeated id and keeps scopes apart', async () => {
    const cache = new RedisSemanticCache(redis);
    const scope = newScope();
    assert.equal(await add(cache, scope, 'j1', 0), 'added');
    assert.equal(await add(cache, scope, 'j1', 0), 'exists');
    const otherRoute: SemanticScope = {
      ...scope,
      route: 'support-faq',
      key: semanticScopeKey({ route: 'support-faq', systemPrompt: null, rag: false, tierTemplates: 'S=t@1', indexVersion: SPACE, modelGeneration: 'g' }),
    };
    assert.equal((await cache.lookup(otherRoute, at(0), opts())).entry, undefined);
    assert.deepEqual(
      (await new SemanticCacheRecords(redis).scopes(scope.tenantId, T0)).map((s) => [s.route, s.entries]),
      [['squad-qa', 1]],
    );
  });

  it('refuses bad ids, TTLs and vectors with a clear error', async () => {
    const cache = new RedisSemanticCache(redis);
    const scope = newScope();
    await assert.rejects(cache.add(scope, entry('a|b'), at(0), { ttlSeconds: 10, maxEntries: 10 }), /invalid entry id/);
    await assert.rejects(cache.add(scope, entry('ok'), at(0), { ttlSeconds: 0, maxEntries: 10 }), /TTL/);
    await assert.rejects(cache.add(scope, entry('ok'), [0, 0, 0, 0], { ttlSeconds: 10, maxEntries: 10 }), /zero vector/);
    await assert.rejects(cache.lookup(scope, [Number.NaN, 0, 0, 0], opts()), /non-finite/);
  });
});
