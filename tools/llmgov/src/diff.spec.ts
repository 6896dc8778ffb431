import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { flattenForDiff, renderPolicyDiff } from './diff.js';

describe('flattenForDiff', () => {
  it('gives one sorted path: value line per leaf, whole arrays of scalars, objects in arrays by name or index', () => {
    assert.deepEqual(
      flattenForDiff({
        z: 1,
        a: { text: 'two\nlines', tiers: ['S', 'M'], empty: {} },
        intents: [
          { name: 'legal', high_risk: true },
          { name: 'faq', high_risk: false },
        ],
        budgets: [{ usd: 1 }, { usd: 2 }],
      }),
      [
        'a.empty: {}',
        'a.text: "two\\nlines"',
        'a.tiers: ["S","M"]',
        'budgets[0].usd: 1',
        'budgets[1].usd: 2',
        'intents[legal].high_risk: true',
        'intents[legal].name: "legal"',
        'intents[faq].high_risk: false',
        'intents[faq].name: "faq"',
        'z: 1',
      ],
    );
  });

  it('indexes by position when names repeat or are missing', () => {
    assert.deepEqual(flattenForDiff({ l: [{ name: 'a' }, { name: 'a' }] }), ['l[0].name: "a"', 'l[1].name: "a"']);
    assert.deepEqual(flattenForDiff({ l: [{ name: 'a' }, { x: 1 }] }), ['l[0].name: "a"', 'l[1].x: 1']);
  });
});

describe('renderPolicyDiff', () => {
  const before = { slo_classes: { fast: { p95_latency_ms: 700, allowed_tiers: ['S'] } }, description: 'd' };

  it('shows each changed field as a removed and an added line naming its path, with counts', () => {
    const after = structuredClone(before);
    after.slo_classes.fast.p95_latency_ms = 650;
    const d = renderPolicyDiff({ label: 'active version 3', document: before }, { label: 'new.yaml', document: after });
    const lines = d.text.split('\n');
    assert.equal(lines[0], '--- active version 3');
    assert.equal(lines[1], '+++ new.yaml');
    assert.ok(lines.includes('-slo_classes.fast.p95_latency_ms: 700'), d.text);
    assert.ok(lines.includes('+slo_classes.fast.p95_latency_ms: 650'), d.text);
    assert.ok(lines.includes(' slo_classes.fast.allowed_tiers: ["S"]'), 'an unchanged neighbour is context');
    assert.deepEqual([d.removed, d.added], [1, 1]);
  });

  it('shows nothing for documents that differ only in key order', () => {
    const reordered = { description: 'd', slo_classes: { fast: { allowed_tiers: ['S'], p95_latency_ms: 700 } } };
    assert.deepEqual(renderPolicyDiff({ label: 'a', document: before }, { label: 'b', document: reordered }), { text: '', removed: 0, added: 0 });
  });

  it('shows a new field as added and a dropped one as removed', () => {
    const d = renderPolicyDiff({ label: 'a', document: { x: 1 } }, { label: 'b', document: { y: 1 } });
    assert.deepEqual([d.removed, d.added], [1, 1]);
    assert.match(d.text, /^-x: 1$/m);
    assert.match(d.text, /^\+y: 1$/m);
  });

  it('shows every line as added when there is no active version', () => {
    const d = renderPolicyDiff(undefined, { label: 'b', document: before });
    assert.equal(d.added, flattenForDiff(before).length);
    assert.equal(d.removed, 0);
    assert.match(d.text, /^--- \(no active version\)$/m);
  });
});
