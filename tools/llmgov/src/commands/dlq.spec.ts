import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { parseCause, parseRate, parseSince } from './dlq.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');

test('--since takes an ISO 8601 time or a duration back from now', () => {
  assert.equal(parseSince('2026-11-29T10:00:00Z', NOW), Date.parse('2026-11-29T10:00:00Z'));
  assert.equal(parseSince('2026-11-29', NOW), Date.parse('2026-11-29'));
  assert.equal(parseSince('30m', NOW), NOW - 30 * 60_000);
  assert.equal(parseSince('2h', NOW), NOW - 2 * 3_600_000);
  assert.equal(parseSince('7d', NOW), NOW - 7 * 86_400_000);
  for (const bad of ['yesterday', '', '2h ago', '-5m', '1e3s', '2026-13-45', '2026-11-29T25:00:00Z', '2027-01-01', '1999-12-31', 'Infinity', '1'.repeat(400)]) {
    assert.throws(() => parseSince(bad, NOW), InvalidArgumentError, bad);
  }
});

test('--rate takes N or N/s in (0, 10000]', () => {
  assert.equal(parseRate('50'), 50);
  assert.equal(parseRate('20/s'), 20);
  assert.equal(parseRate('0.5/s'), 0.5);
  for (const bad of ['0', '-1', '1e9', '10001', 'fast', '5/m', '', 'NaN']) assert.throws(() => parseRate(bad), InvalidArgumentError, bad);
});

test('--cause takes one of the cause classes only', () => {
  assert.equal(parseCause('dependency'), 'dependency');
  for (const bad of ['Dependency', '__proto__', 'constructor', '', 'x'.repeat(1000)]) {
    assert.throws(
      () => parseCause(bad),
      (e: unknown) => e instanceof InvalidArgumentError && /expected one of schema, validation/.test(e.message),
      bad,
    );
  }
});
