import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { intArg, numArg } from './index.js';

describe('intArg', () => {
  it('accepts integers in range and refuses empty, fractional, out-of-range and non-numeric values', () => {
    const p = intArg(1, 10);
    assert.equal(p('7'), 7);
    assert.equal(p('10'), 10);
    for (const bad of ['', ' ', '0', '11', '2.5', 'abc', 'NaN', 'Infinity']) assert.throws(() => p(bad), InvalidArgumentError, bad);
    assert.throws(() => p('0'), /expected an integer in \[1, 10\]/);
  });
});

describe('numArg', () => {
  it('accepts finite numbers in range', () => {
    assert.equal(numArg(0)('0'), 0);
    assert.equal(numArg(0, 1)('0.25'), 0.25);
    for (const bad of ['', '-1', '1e400', 'x']) assert.throws(() => numArg(0)(bad), InvalidArgumentError, bad);
  });

  it('excludes the minimum when asked', () => {
    const positive = numArg(0, Number.MAX_VALUE, { minExclusive: true });
    assert.equal(positive('0.001'), 0.001);
    assert.throws(() => positive('0'), /expected a number in \(0, /);
  });
});
