/**
 * TierCapacityStore against the real Redis of the local stack (`infra/local/up.sh`, then `set -a; . .local/stack.env`);
 * skipped when REDIS_URL is absent. Each test has its own namespace, so no other test's or worker's reports are seen.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TierCapacityReport } from '@llmgov/policy';
import { eventually } from '@llmgov/testing';
import { RedisKeys, TierCapacityStore, createRedis, type Redis } from '../src/index.js';

const REDIS_URL = process.env.REDIS_URL;
const run = randomUUID().slice(0, 8);
let n = 0;
const ns = () => `it-cap.${run}.${n++}.`;

const report = (over: Partial<TierCapacityReport> = {}): TierCapacityReport => ({
  tier: 'S',
  instance: 'w1',
  saturation: 0.5,
  paused: false,
  lag: 7,
  service_rate_per_s: 1.5,
  service_ms: 900,
  slots: 2,
  inflight: 1,
  published_at: Date.now(),
  ...over,
});

describe('TierCapacityStore against Redis', { skip: REDIS_URL ? false : 'REDIS_URL is not set' }, () => {
  let redis: Redis;
  before(() => {
    redis = createRedis(REDIS_URL!);
  });
  after(() => redis.disconnect());

  it('reads back what instances published, per tier and instance, and nothing of another namespace', async () => {
    const store = new TierCapacityStore(redis, ns());
    const other = new TierCapacityStore(redis, ns());
    const a = report();
    const b = report({ instance: 'w2', tier: 'M', paused: true, saturation: 1 });
    await store.publish([a, b], 10_000);
    await other.publish([report({ instance: 'elsewhere' })], 10_000);
    const got = (await store.readAll()).sort((x, y) => x.instance.localeCompare(y.instance));
    assert.deepEqual(got, [a, b]);
    assert.deepEqual(
      (await other.readAll()).map((r) => r.instance),
      ['elsewhere'],
    );
  });

  it('a report expires with its TTL (a dead worker), and withdraw removes one at once', async () => {
    const store = new TierCapacityStore(redis, ns());
    await store.publish([report({ instance: 'short-lived' })], 50);
    await store.publish([report({ instance: 'stays' }), report({ instance: 'stays', tier: 'L' })], 60_000);
    await eventually('the short-lived report to expire', async () => ((await store.readAll()).some((r) => r.instance === 'short-lived') ? undefined : true), {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    assert.deepEqual((await store.readAll()).map((r) => `${r.instance}/${r.tier}`).sort(), ['stays/L', 'stays/S']);
    await store.withdraw('stays', ['S', 'L']);
    assert.deepEqual(await store.readAll(), []);
  });

  it('skips a report that is not valid JSON or not a valid report', async () => {
    const namespace = ns();
    const store = new TierCapacityStore(redis, namespace);
    await store.publish([report({ instance: 'good' })], 10_000);
    for (const [instance, value] of [
      ['garbage', '{not json'],
      ['invalid', JSON.stringify({ ...report({ instance: 'invalid' }), saturation: 7 })],
    ] as const) {
      await redis.set(RedisKeys.tierCapacity(namespace, 'S', instance), value, 'PX', 10_000);
      await redis.zadd(RedisKeys.tierCapacityIndex(namespace, 'S'), Date.now(), instance);
    }
    assert.deepEqual(
      (await store.readAll()).map((r) => r.instance),
      ['good'],
    );
  });
});
