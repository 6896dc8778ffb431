import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayInputError } from './errors.js';
import { checkBounds, parseBound, parseRate, resolveRanges } from './spec.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ReplayInputError, String(err));
    return err.code;
  }
  assert.fail('expected a ReplayInputError');
};

describe('parseBound', () => {
  it('reads times with a zone, UTC dates, epoch ms and now', () => {
    assert.deepEqual(parseBound('2026-11-29T13:00:00Z'), { kind: 'time', ms: Date.UTC(2026, 10, 29, 13), text: '2026-11-29T13:00:00Z' });
    assert.equal((parseBound('2026-11-29T14:00+01:00') as { ms: number }).ms, Date.UTC(2026, 10, 29, 13));
    assert.equal((parseBound('2026-11-29') as { ms: number }).ms, Date.UTC(2026, 10, 29));
    assert.equal((parseBound('1795000000000') as { ms: number }).ms, 1795000000000);
    assert.equal((parseBound('now', 1795000000123) as { ms: number }).ms, 1795000000123);
  });

  it('reads partition:offset lists', () => {
    const b = parseBound('0:120,2:0,1:98');
    assert.equal(b.kind, 'offsets');
    assert.deepEqual(
      [...(b as { offsets: Map<number, bigint> }).offsets],
      [
        [0, 120n],
        [2, 0n],
        [1, 98n],
      ],
    );
  });

  it('refuses local times, impossible dates, out-of-range years and garbage with a reason', () => {
    assert.equal(
      code(() => parseBound('2026-11-29T13:00:00')),
      'invalid_time',
    );
    assert.equal(
      code(() => parseBound('2026-02-31')),
      'invalid_time',
    );
    assert.equal(
      code(() => parseBound('2026-02-31T10:00:00Z')),
      'invalid_time',
    );
    assert.equal(
      code(() => parseBound('1899-01-01')),
      'invalid_time',
    );
    assert.equal(
      code(() => parseBound('yesterday')),
      'invalid_time',
    );
    assert.equal(
      code(() => parseBound('')),
      'invalid_time',
    );
    assert.equal(
      code(() => parseBound("1'; DROP TABLE replays;--")),
      'invalid_time',
    );
  });

  it('refuses malformed offsets: empty items, negatives, repeats, beyond int64', () => {
    for (const bad of ['0:', '0:1,', '0:-1', '0:1,0:2', '0:99999999999999999999', '0:1;1:2', 'a:1'])
      assert.ok(['invalid_offsets', 'invalid_time'].includes(code(() => parseBound(bad))), bad);
    assert.equal(
      code(() => parseBound('0:9223372036854775808')),
      'invalid_offsets',
    );
  });
});

describe('parseRate', () => {
  it('reads N and N/s, refuses zero, negatives and nonsense', () => {
    assert.equal(parseRate('50/s'), 50);
    assert.equal(parseRate('2.5'), 2.5);
    for (const bad of ['0', '0/s', '-1', 'fast', '1e9', '200000/s', '5/m'])
      assert.equal(
        code(() => parseRate(bad)),
        'invalid_rate',
        bad,
      );
  });
});

describe('checkBounds and resolveRanges', () => {
  it('refuses --from after --to (times, or offsets of one partition)', () => {
    assert.equal(
      code(() => checkBounds(parseBound('2026-11-29T12:00:00Z'), parseBound('2026-11-29T11:00:00Z'))),
      'invalid_range',
    );
    assert.equal(
      code(() => checkBounds(parseBound('0:10'), parseBound('0:5'))),
      'invalid_range',
    );
    checkBounds(parseBound('2026-11-29T11:00:00Z'), parseBound('2026-11-29T11:00:00Z'));
  });

  const topic = {
    low: new Map([
      [0, 5n],
      [1, 0n],
    ]),
    high: new Map([
      [0, 50n],
      [1, 10n],
    ]),
  };

  it('fills missing partitions with the watermarks and clamps into them', () => {
    assert.deepEqual(resolveRanges(topic, new Map([[0, 0n]]), new Map([[1, 99n]])), [
      { partition: 0, start: 5n, end: 50n },
      { partition: 1, start: 0n, end: 10n },
    ]);
  });

  it('refuses an unknown partition and a start after the end', () => {
    assert.equal(
      code(() => resolveRanges(topic, new Map([[7, 0n]]), undefined)),
      'unknown_partition',
    );
    assert.equal(
      code(() => resolveRanges(topic, new Map([[0, 40n]]), new Map([[0, 20n]]))),
      'invalid_range',
    );
  });
});
