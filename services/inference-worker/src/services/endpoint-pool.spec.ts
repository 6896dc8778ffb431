import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointPool } from './endpoint-pool.js';

describe(EndpointPool.name, () => {
  it('spreads load to the least busy endpoint and bounds in-flight work', async () => {
    const sut = new EndpointPool(['a', 'b'], 2);
    const got = [await sut.acquire(), await sut.acquire(), await sut.acquire(), await sut.acquire()];
    assert.deepEqual(got.sort(), ['a', 'a', 'b', 'b']);
    let fifth: string | undefined;
    const pending = sut.acquire().then((e) => (fifth = e));
    await Promise.resolve();
    assert.equal(fifth, undefined, 'waits while every endpoint is full');
    sut.release('b');
    await pending;
    assert.equal(fifth, 'b');
    assert.deepEqual(sut.snapshot(), { a: 2, b: 2 });
  });

  it('ignores releases of unknown or idle endpoints', () => {
    const sut = new EndpointPool(['a'], 1);
    sut.release('zzz');
    sut.release('a');
    assert.deepEqual(sut.snapshot(), { a: 0 });
  });
});
