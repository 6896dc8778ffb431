import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hysteresis, endpointSaturation, poolSaturation } from './saturation.js';

const cfg = { queue_depth_threshold: 5, kv_cache_util_threshold: 0.8, metrics_staleness_ms: 1_000, high_watermark: 1, low_watermark: 0.7 };
const now = 50_000;

describe('endpointSaturation', () => {
  it('is the larger of queue / threshold and KV usage / threshold', () => {
    assert.equal(endpointSaturation({ running: 8, waiting: 0, kvCacheUsage: 0.4, scrapedAt: now }, now, cfg), 0.5);
    assert.equal(endpointSaturation({ running: 8, waiting: 10, kvCacheUsage: 0.4, scrapedAt: now }, now, cfg), 2);
    assert.equal(endpointSaturation({ running: 8, waiting: 1, kvCacheUsage: 0.8, scrapedAt: now }, now, cfg), 1);
  });

  it('treats missing or stale metrics as saturated', () => {
    assert.equal(endpointSaturation(undefined, now, cfg), 1);
    assert.equal(endpointSaturation({ running: 0, waiting: 0, kvCacheUsage: 0, scrapedAt: now - 1_001 }, now, cfg), 1);
    assert.equal(endpointSaturation({ running: 0, waiting: 0, kvCacheUsage: 0, scrapedAt: now - 1_000 }, now, cfg), 0);
  });
});

describe('poolSaturation', () => {
  it('reaches 1 only when every endpoint is saturated, and grades below', () => {
    assert.equal(poolSaturation([3, 0]), 0.5, 'one idle endpoint keeps the pool below 1');
    assert.equal(poolSaturation([1, 2.5]), 1);
    assert.equal(poolSaturation([0.4, 0.6]), 0.5);
    assert.equal(poolSaturation([]), 1, 'no usable endpoint = saturated');
  });
});

describe(Hysteresis.name, () => {
  it('pauses at the high watermark, resumes only at the low one, and does not flap in between', () => {
    const sut = new Hysteresis(1, 0.7);
    const seen = [0.5, 0.99, 1, 1.2, 0.9, 0.71, 0.7, 0.8, 0.99, 1].map((s) => sut.update(s));
    assert.deepEqual(seen, [undefined, undefined, 'pause', undefined, undefined, undefined, 'resume', undefined, undefined, 'pause']);
    assert.equal(sut.paused, true);
    assert.throws(() => sut.setWatermarks(0.5, 0.5), RangeError);
  });
});
