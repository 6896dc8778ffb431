import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointPool } from './endpoint-pool.js';

const sat = { queue_depth_threshold: 5, kv_cache_util_threshold: 0.8, metrics_staleness_ms: 1_000, high_watermark: 1, low_watermark: 0.7 };
const breaker = { consecutive_failures: 3, failure_ratio: 0.1, window_ms: 10_000, min_requests: 10, recovery_ms: 5_000, half_open_probes: 1 };
const ep = (url: string, max_inflight = 2) => ({ url, max_inflight, max_num_seqs: 4, metrics_dialect: 'auto' as const, gpu_type: 'L4', usd_per_gpu_hour: 1 });
const template = { name: 't', version: 1, api: 'chat' as const, messages: [{ role: 'user' as const, content: '{{question}}' }], file: '/t.json' };
const pool = (urls: string[], max?: number) => ({
  model: 'm',
  api: 'chat' as const,
  template,
  endpoints: urls.map((u) => ep(u)),
  ...(max ? { max_inflight: max } : {}),
});

describe(EndpointPool.name, () => {
  it('bounds in-flight calls per endpoint and per pool, and waits for a slot', async () => {
    const sut = new EndpointPool('S', pool(['http://a', 'http://b'], 3), sat, breaker);
    const leases = [sut.tryAcquire(), sut.tryAcquire(), sut.tryAcquire()];
    assert.ok(leases.every(Boolean));
    assert.equal(sut.tryAcquire(), undefined, 'pool bound 3 reached before the endpoints are full');
    const waiting = sut.acquire(new Set(), Date.now() + 10_000);
    sut.release(leases[0]!, 'success');
    assert.ok(await waiting);
    assert.equal(await sut.acquire(new Set(), Date.now() - 1), undefined, 'past the deadline');
  });

  it('prefers an endpoint the request has not failed on', () => {
    const sut = new EndpointPool('S', pool(['http://a', 'http://b']), sat, breaker);
    const lease = sut.tryAcquire(new Set(['http://a']));
    assert.equal(lease?.endpoint.url, 'http://b');
  });

  it('skips an endpoint whose circuit is open and leaves it out of the saturation', () => {
    const sut = new EndpointPool('S', pool(['http://a', 'http://b']), sat, breaker);
    const now = Date.now();
    sut.setLoad('http://a', { running: 1, waiting: 0, kvCacheUsage: 0, scrapedAt: now });
    sut.setLoad('http://b', { running: 1, waiting: 0, kvCacheUsage: 0, scrapedAt: now });
    for (let i = 0; i < 3; i++) {
      const l = sut.tryAcquire(new Set(['http://b']))!;
      assert.equal(l.endpoint.url, 'http://a');
      sut.release(l, 'failure');
    }
    assert.equal(sut.snapshot().find((s) => s.url === 'http://a')?.breaker, 'open');
    const urls = [sut.tryAcquire(), sut.tryAcquire()].map((l) => l?.endpoint.url);
    assert.deepEqual(urls, ['http://b', 'http://b']);
    assert.equal(sut.tryAcquire(), undefined, 'b full, a open');
    assert.equal(sut.saturation(), 0, 'only b counts');
  });

  it('applies a reloaded config: keeps kept endpoints, adds new ones, drops removed ones', () => {
    const sut = new EndpointPool('S', pool(['http://a', 'http://b']), sat, breaker);
    const held = sut.tryAcquire(new Set(['http://b']))!;
    sut.configure(pool(['http://a', 'http://c']), sat, breaker);
    assert.deepEqual(sut.urls, ['http://a', 'http://c']);
    assert.equal(sut.snapshot().find((s) => s.url === 'http://a')?.inflight, 1, 'in-flight count kept');
    sut.release(held, 'success');
    assert.equal(sut.inflight, 0);
  });
});
