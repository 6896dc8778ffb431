import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GoldenInputError, MAX_GOLDEN_ITEMS, parseGoldenText, type GoldenParseOptions } from './golden-input.js';

const opts: GoldenParseOptions = { tenants: [], route: null, squadIntent: 'squad-qa' };

function squad(articles: { qs: { id: string; q: string; a: string[] }[] }[]): string {
  return JSON.stringify({
    data: articles.map((art, i) => ({
      title: `t${i}`,
      paragraphs: [{ context: 'ctx', qas: art.qs.map((x) => ({ id: x.id, question: x.q, answers: x.a.map((text) => ({ text })) })) }],
    })),
  });
}

function errorOf(fn: () => unknown): GoldenInputError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GoldenInputError, `expected a GoldenInputError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the input to be refused');
}

describe('golden-set input', () => {
  it('reads SQuAD: interleaved across articles, round-robin tenants, paragraph ids as the demo indexes them, unanswerable skipped', () => {
    const text = squad([
      {
        qs: [
          { id: 'q1', q: 'Who?', a: ['Ann', 'Ann', 'Ann B.'] },
          { id: 'q2', q: 'When?', a: ['1990'] },
        ],
      },
      {
        qs: [
          { id: 'q3', q: 'Where?', a: ['Paris'] },
          { id: 'q4', q: 'Why?', a: [] },
        ],
      },
    ]);
    const r = parseGoldenText(text, 'f.json', { ...opts, tenants: ['tenant-a', 'tenant-b'], limit: 2 });
    assert.equal(r.format, 'squad');
    assert.equal(r.total, 3);
    assert.deepEqual(
      r.items.map((i) => [i.item_key, i.tenant_id, i.source_document_id, i.expected_answers, i.intent]),
      [
        ['q1', 'tenant-a', 'a0-p0', ['Ann', 'Ann B.'], 'squad-qa'],
        ['q3', 'tenant-b', 'a1-p0', ['Paris'], 'squad-qa'],
      ],
    );
  });

  it('reads JSONL with one or several expected answers, skipping blank lines; the key is the id, else a hash of the prompt', () => {
    const text = [
      '{"prompt":"What is 2+2?","expected_answer":"4","intent":"math"}',
      '',
      '{"id":"x1","prompt":"Capital?","expected_answers":["Paris","paris"],"tenant":"t9"}',
    ].join('\n');
    const r = parseGoldenText(text, 'f.jsonl', { ...opts, tenants: ['tenant-a'], route: 'faq' });
    assert.equal(r.format, 'jsonl');
    assert.equal(r.items.length, 2);
    assert.match(r.items[0]!.item_key, /^sha256:[0-9a-f]{32}$/);
    assert.deepEqual(
      r.items.map((i) => [i.expected_answers, i.intent, i.tenant_id, i.route]),
      [
        [['4'], 'math', 'tenant-a', 'faq'],
        [['Paris', 'paris'], null, 't9', 'faq'],
      ],
    );
    assert.equal(r.items[1]!.item_key, 'x1');
  });

  it('refuses malformed JSONL naming each line', () => {
    const text = [
      '{"prompt":"ok","expected_answer":"a"}',
      'not json',
      '{"prompt":"p"}',
      '{"prompt":"p","expected_answer":"a","extra":1}',
      '{"prompt":"","expected_answer":"a"}',
    ].join('\n');
    const e = errorOf(() => parseGoldenText(text, 'bad.jsonl', opts));
    assert.match(e.message, /bad\.jsonl/);
    assert.equal(e.issues.length, 4);
    assert.match(e.issues[0]!, /^line 2: not JSON/);
    assert.match(e.issues[1]!, /^line 3: .*expected_answer or expected_answers/);
    assert.match(e.issues[2]!, /^line 4: .*extra/);
    assert.match(e.issues[3]!, /^line 5: prompt: must not be empty/);
  });

  it('refuses hostile text: NUL and other control characters, lone surrogates, over-long prompts', () => {
    for (const prompt of ['a\u0000b', 'a\u001bb', 'a\ud800b', 'x'.repeat(8001)]) {
      const e = errorOf(() => parseGoldenText(JSON.stringify({ prompt, expected_answer: 'a' }), 'h.jsonl', opts));
      assert.equal(e.issues.length, 1, prompt.slice(0, 10));
      assert.match(e.issues[0]!, /^line 1: prompt: /);
    }
  });

  it('refuses an empty file, a file with a duplicate key, too many items, and a SQuAD file of the wrong layout', () => {
    assert.match(errorOf(() => parseGoldenText('\n\n', 'e.jsonl', opts)).message, /has no items/);
    assert.match(
      errorOf(() => parseGoldenText('{"prompt":"p","expected_answer":"a"}', 't.jsonl', { ...opts, tenants: ['a', 'b'] })).message,
      /takes one tenant/,
    );
    const dup = ['{"id":"a","prompt":"p","expected_answer":"x"}', '{"id":"a","prompt":"q","expected_answer":"y"}'].join('\n');
    assert.match(errorOf(() => parseGoldenText(dup, 'd.jsonl', opts)).message, /item a twice/);
    const many = Array.from({ length: MAX_GOLDEN_ITEMS + 1 }, (_, i) => JSON.stringify({ id: `i${i}`, prompt: 'p', expected_answer: 'a' })).join('\n');
    assert.match(errorOf(() => parseGoldenText(many, 'm.jsonl', opts)).message, /at most 10000/);
    assert.equal(parseGoldenText(many, 'm.jsonl', { ...opts, limit: 5 }).items.length, 5);
    const e = errorOf(() => parseGoldenText('{"data": [{"title": "t", "paragraphs": [{"qas": []}]}]}', 's.json', opts));
    assert.match(e.message, /not a SQuAD v1\.1 file/);
    assert.match(e.issues[0]!, /data\.0\.paragraphs\.0\.context/);
  });
});
