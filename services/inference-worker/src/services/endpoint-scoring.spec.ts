import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pickBest, scoreEndpoints, type Candidate } from './endpoint-scoring.js';

const load = (waiting: number, kvCacheUsage: number) => ({ running: 4, waiting, kvCacheUsage, scrapedAt: 0 });
const c = (url: string, inflight: number, l: Candidate['load'], maxInflight = 10): Candidate => ({ url, inflight, maxInflight, load: l });

describe('endpoint scoring', () => {
  it('prefers the shorter engine queue', () => {
    assert.equal(pickBest([c('a', 2, load(6, 0.3)), c('b', 2, load(1, 0.3))]), 1);
  });

  it('prefers lower KV-cache usage when queues are equal', () => {
    assert.equal(pickBest([c('a', 2, load(2, 0.9)), c('b', 2, load(2, 0.2))]), 1);
  });

  it("prefers the endpoint with fewer of this worker's requests between scrapes", () => {
    assert.equal(pickBest([c('a', 9, load(0, 0.1)), c('b', 1, load(0, 0.1))]), 1);
  });

  it('scores an endpoint without fresh metrics below a healthy one', () => {
    const scores = scoreEndpoints([c('a', 0, undefined), c('b', 5, load(3, 0.5))]);
    assert.ok(scores[0]! < scores[1]!, `${scores}`);
    assert.equal(pickBest([]), -1);
  });
});
