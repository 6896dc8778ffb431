import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readAzureTrace, window } from './trace.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'trace-'));
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('readAzureTrace', () => {
  it('reads arrival offsets (sub-ms precision, sorted) and token counts', () => {
    const p = file('ok.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:47.1805900,10,2\n2023-11-16 18:15:46.6805900,374,44\n');
    assert.deepEqual(readAzureTrace(p), [
      { offsetMs: 0, contextTokens: 374, generatedTokens: 44 },
      { offsetMs: 500, contextTokens: 10, generatedTokens: 2 },
    ]);
  });

  it('names the line of a malformed or hostile row', () => {
    const bad = [
      ['2023-11-16 18:15:46.6,abc,2', /line 3/],
      ['2023-11-16 18:15:46.6,-5,2', /line 3/],
      ['2023-11-16 18:15:46.6,5,0', /line 3/],
      ['not a time,5,2', /line 3/],
      ["2023-11-16 18:15:46.6,5,2'; DROP TABLE x;--", /line 3/],
    ] as const;
    for (const [row, msg] of bad) {
      const p = file('bad.csv', `TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.0,1,1\n${row}\n`);
      assert.throws(() => readAzureTrace(p), msg, row);
    }
    assert.throws(() => readAzureTrace(file('cols.csv', 'a,b\n1,2\n')), /line 2/, 'wrong header');
    assert.throws(() => readAzureTrace(file('ragged.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.0,1\n')), Error);
  });

  it('gives no requests for an empty file', () => {
    assert.deepEqual(readAzureTrace(file('empty.csv', '')), []);
  });
});

describe('window', () => {
  it('speeds up arrivals and keeps those before the duration', () => {
    const trace = [0, 1000, 3900, 4000].map((offsetMs) => ({ offsetMs, contextTokens: 1, generatedTokens: 1 }));
    assert.deepEqual(
      window(trace, 4, 1).map((r) => r.atMs),
      [0, 250, 975],
    );
  });

  it('replays the trace again from its start when the duration outlasts it', () => {
    const trace = [0, 1000, 2000].map((offsetMs) => ({ offsetMs, contextTokens: 1, generatedTokens: 1 }));
    // Lap = 2000 ms span + 1000 ms mean gap = 3000 ms; at 2x: arrivals at 0, 500, 1000, then 1500, 2000, 2500, ...
    assert.deepEqual(
      window(trace, 2, 2.6).map((r) => r.atMs),
      [0, 500, 1000, 1500, 2000, 2500],
    );
  });
});
