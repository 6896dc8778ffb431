import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser, type SseEvent } from './sse.js';

const STREAM =
  '\uFEFF: keep-alive comment\r\n' + 'data: {"a":"héllo 😀 東京"}\r\n\r\n' + 'event: message\ndata: line1\ndata:line2\n\n' + 'data: x\r\rdata: [DONE]\n\n';

const EXPECTED: SseEvent[] = [
  { event: undefined, data: '{"a":"héllo 😀 東京"}' },
  { event: 'message', data: 'line1\nline2' },
  { event: undefined, data: 'x' },
  { event: undefined, data: '[DONE]' },
];

function parseInChunks(bytes: Uint8Array, cuts: number[]): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  let last = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(...p.push(bytes.subarray(last, c)));
    last = c;
  }
  out.push(...p.end());
  return out;
}

describe('SseParser', () => {
  const bytes = new TextEncoder().encode(STREAM);

  it('parses a whole stream (BOM, comments, CRLF, CR, multi-line data)', () => {
    assert.deepEqual(parseInChunks(bytes, []), EXPECTED);
  });

  it('gives the same events whatever the chunk boundaries (every single split point, and byte by byte)', () => {
    for (let cut = 1; cut < bytes.length; cut++) assert.deepEqual(parseInChunks(bytes, [cut]), EXPECTED, `split at byte ${cut}`);
    assert.deepEqual(
      parseInChunks(
        bytes,
        Array.from({ length: bytes.length - 1 }, (_, i) => i + 1),
      ),
      EXPECTED,
    );
  });

  it('dispatches a final event that lacks its blank line at end of stream', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('data: [DONE]'), []);
    assert.deepEqual(p.end(), [{ event: undefined, data: '[DONE]' }]);
  });

  it('refuses an unbounded line', () => {
    const p = new SseParser(1000);
    assert.throws(() => p.push('data: ' + 'x'.repeat(2000)), RangeError);
  });
});
