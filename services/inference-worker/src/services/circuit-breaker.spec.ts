import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker } from './circuit-breaker.js';

const cfg = { consecutive_failures: 3, failure_ratio: 0.1, window_ms: 10_000, min_requests: 10, recovery_ms: 5_000, half_open_probes: 3 };

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe(CircuitBreaker.name, () => {
  it('opens after 3 consecutive failures and refuses calls until the recovery time', () => {
    const c = clock();
    const sut = new CircuitBreaker(cfg, c.now);
    sut.record(false);
    sut.record(false);
    sut.record(true); // resets the run
    sut.record(false);
    sut.record(false);
    assert.equal(sut.state, 'closed');
    sut.record(false);
    assert.equal(sut.state, 'open');
    assert.equal(sut.tryStart(), false);
    c.t += 4_999;
    assert.equal(sut.state, 'open');
    c.t += 1;
    assert.equal(sut.state, 'half_open');
  });

  it('opens at 10 % failures within 10 s once 10 calls were seen, not on a lone failure', () => {
    const c = clock();
    const sut = new CircuitBreaker(cfg, c.now);
    sut.record(false);
    assert.equal(sut.state, 'closed', '1 of 1 is below min_requests');
    for (let i = 0; i < 8; i++) sut.record(true);
    assert.equal(sut.state, 'closed');
    sut.record(false); // 2 failures in 10 calls = 20 %
    assert.equal(sut.state, 'open');
  });

  it('forgets calls older than the window', () => {
    const c = clock();
    const sut = new CircuitBreaker(cfg, c.now);
    sut.record(false);
    c.t += 10_001;
    for (let i = 0; i < 18; i++) sut.record(true);
    sut.record(false); // 1 failure in 19 calls in the window (the old one dropped) ≈ 5 %
    assert.equal(sut.state, 'closed');
  });

  it('half-open lets exactly the probe count through and closes only when all succeed', () => {
    const c = clock();
    const sut = new CircuitBreaker(cfg, c.now);
    for (let i = 0; i < 3; i++) sut.record(false);
    c.t += 5_000;
    assert.equal(sut.tryStart(), true);
    assert.equal(sut.tryStart(), true);
    assert.equal(sut.tryStart(), true);
    assert.equal(sut.tryStart(), false, 'no fourth probe');
    sut.record(true);
    sut.record(true);
    assert.equal(sut.state, 'half_open');
    sut.record(true);
    assert.equal(sut.state, 'closed');
    assert.equal(sut.tryStart(), true);
  });

  it('reopens on a failed probe and ignores late results while open', () => {
    const c = clock();
    const sut = new CircuitBreaker(cfg, c.now);
    for (let i = 0; i < 3; i++) sut.record(false);
    sut.record(true); // a call that started before it opened
    assert.equal(sut.state, 'open');
    c.t += 5_000;
    assert.equal(sut.tryStart(), true);
    sut.record(false);
    assert.equal(sut.state, 'open');
    c.t += 4_000;
    assert.equal(sut.allows, false, 'recovery time restarts from the failed probe');
  });
});
