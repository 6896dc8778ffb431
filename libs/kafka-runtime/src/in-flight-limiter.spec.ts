import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InFlightLimiter } from './in-flight-limiter.js';

describe(InFlightLimiter.name, () => {
  it('bounds slots, hands a released slot to the oldest waiter, and times out', async () => {
    const sut = new InFlightLimiter(2);
    assert.equal(sut.tryAcquire(), true);
    assert.equal(sut.tryAcquire(), true);
    assert.equal(sut.tryAcquire(), false);
    assert.equal(await sut.acquire(5), false, 'times out with no slot');
    const order: string[] = [];
    const a = sut.acquire(10_000).then((ok) => order.push(`a:${ok}`));
    const b = sut.acquire(10_000).then((ok) => order.push(`b:${ok}`));
    assert.equal(sut.tryAcquire(), false, 'does not jump the queue');
    sut.release();
    await a;
    assert.deepEqual(order, ['a:true']);
    sut.release();
    await b;
    assert.deepEqual(order, ['a:true', 'b:true']);
    assert.equal(sut.inUse, 2);
  });

  it('applies a raised limit to waiters at once and a lowered one as slots free', async () => {
    const sut = new InFlightLimiter(1);
    assert.equal(sut.tryAcquire(), true);
    const waiting = sut.acquire(10_000);
    sut.setLimit(2);
    assert.equal(await waiting, true);
    sut.setLimit(1);
    sut.release();
    assert.equal(sut.tryAcquire(), false, 'still 1 in use at limit 1');
    sut.release();
    assert.equal(sut.tryAcquire(), true);
    assert.throws(() => sut.setLimit(0), RangeError);
  });

  it('resolves idle() when the last slot is released', async () => {
    const sut = new InFlightLimiter(3);
    sut.tryAcquire();
    sut.tryAcquire();
    let idle = false;
    const p = sut.idle().then(() => (idle = true));
    sut.release();
    await Promise.resolve();
    assert.equal(idle, false);
    sut.release();
    await p;
    assert.equal(idle, true);
  });
});
