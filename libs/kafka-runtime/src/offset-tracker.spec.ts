import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetTracker } from './offset-tracker.js';

describe(OffsetTracker.name, () => {
  it('commits only up to the highest contiguous completed offset', () => {
    const sut = new OffsetTracker();
    for (const o of [10n, 11n, 12n, 13n]) sut.begin(o);
    sut.complete(12n);
    assert.equal(sut.nextCommitOffset(), undefined, 'gap at 10 holds the commit back');
    sut.complete(10n);
    assert.equal(sut.nextCommitOffset(), 11n);
    sut.complete(11n);
    assert.equal(sut.nextCommitOffset(), 13n, '10,11,12 done -> commit 13');
    assert.equal(sut.inFlight, 1);
    sut.markCommitted(13n);
    assert.equal(sut.nextCommitOffset(), undefined);
    sut.complete(13n);
    assert.equal(sut.nextCommitOffset(), 14n);
  });

  it('tolerates gaps in offsets (compacted topics, transaction markers)', () => {
    const sut = new OffsetTracker();
    sut.begin(5n);
    sut.begin(9n);
    sut.complete(9n);
    sut.complete(5n);
    assert.equal(sut.nextCommitOffset(), 10n);
  });

  it('ignores unknown or repeated completions and rejects out-of-order begins', () => {
    const sut = new OffsetTracker();
    sut.begin(1n);
    sut.complete(7n);
    sut.complete(1n);
    sut.complete(1n);
    assert.equal(sut.nextCommitOffset(), 2n);
    assert.throws(() => sut.begin(1n), /begun after/);
    assert.equal(sut.seen(1n), true);
    assert.equal(sut.seen(2n), false);
  });

  it('keeps completions that arrive while a commit is in flight', () => {
    const sut = new OffsetTracker();
    for (const o of [1n, 2n]) sut.begin(o);
    sut.complete(1n);
    const next = sut.nextCommitOffset()!;
    sut.complete(2n); // completes while the commit of `next` is awaited
    sut.markCommitted(next);
    assert.equal(sut.nextCommitOffset(), 3n, 'offset 2 still to commit');
    sut.markCommitted(3n);
    assert.equal(sut.nextCommitOffset(), undefined);
  });
});
