import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { CliError } from '../cli.js';
import { parseLabelLines, parseTarget } from './cache.js';

describe('llmgov cache: argument and label parsing', () => {
  it('reads labelled lookups from JSON Lines, skipping blank lines', () => {
    assert.deepEqual(parseLabelLines('{"similarity": 0.93, "correct": true}\n\n{"similarity": -0.1, "correct": false}\n', 'l.jsonl'), [
      { similarity: 0.93, correct: true },
      { similarity: -0.1, correct: false },
    ]);
  });

  it('names the first bad line and refuses an empty file', () => {
    assert.throws(
      () => parseLabelLines('{"similarity": 0.9, "correct": true}\n{"similarity": 1.5, "correct": true}', 'l.jsonl'),
      (e: unknown) => e instanceof CliError && e.code === 'invalid_labels' && /l\.jsonl:2/.test(e.message),
    );
    assert.throws(() => parseLabelLines('not json', 'l.jsonl'), /l\.jsonl:1: not JSON/);
    assert.throws(() => parseLabelLines('{"similarity": 0.9}', 'l.jsonl'), /l\.jsonl:1/);
    assert.throws(() => parseLabelLines('\n \n', 'l.jsonl'), /no labelled lookup/);
  });

  it('takes a false-hit target in (0, 0.5]', () => {
    assert.equal(parseTarget('0.02'), 0.02);
    for (const bad of ['0', '-0.1', '0.6', 'abc', ''] as const) assert.throws(() => parseTarget(bad), InvalidArgumentError);
  });
});
