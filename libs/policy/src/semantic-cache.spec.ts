import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cacheTtlSeconds, calibrateThreshold, evaluateThreshold, semanticCacheSettings, wilsonUpperBound, type LabelledHit } from './semantic-cache.js';
import { buildLookupSet, labelLookups, normaliseAnswer, reword, sameAnswer, splitOf, type LabelledQuestion } from './semantic-labels.js';

describe('wilsonUpperBound', () => {
  it('matches the closed form for 0 of n: z²/(n+z²)', () => {
    const z = 1.6448536269514722;
    for (const n of [1, 10, 133, 1000]) assert.ok(Math.abs(wilsonUpperBound(0, n) - (z * z) / (n + z * z)) < 1e-12);
  });

  it('is above the observed rate, at most 1, and shrinks as n grows at the same rate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, p) => {
        const k = Math.floor(p * n);
        const ub = wilsonUpperBound(k, n);
        assert.ok(ub >= k / n - 1e-12 && ub <= 1);
        assert.ok(wilsonUpperBound(k * 4, n * 4) <= ub + 1e-12);
      }),
    );
  });

  it('refuses impossible counts', () => {
    assert.throws(() => wilsonUpperBound(3, 2), RangeError);
    assert.throws(() => wilsonUpperBound(-1, 2), RangeError);
    assert.equal(wilsonUpperBound(0, 0), 1);
  });
});

describe('calibrateThreshold', () => {
  /** `n` lookups at similarity `s`, `wrong` of them false. */
  const at = (s: number, n: number, wrong = 0): LabelledHit[] => Array.from({ length: n }, (_, i) => ({ similarity: s, correct: i >= wrong }));

  it('picks the lowest threshold whose upper bound stays under the target', () => {
    // 200 clean hits at 0.95, then 100 at 0.85 with 1 false (1/300 served: bound ~0.0139), then 100 at 0.75 with 20 false.
    const c = calibrateThreshold([...at(0.95, 200), ...at(0.85, 100, 1), ...at(0.75, 100, 20)], { target: 0.02 });
    assert.equal(c.threshold, 0.85);
    assert.equal(c.hits, 300);
    assert.equal(c.falseHits, 1);
    assert.ok(c.falseHitUpperBound <= 0.02);
    assert.equal(c.pairs, 400);
    assert.equal(c.positives, 379);
    assert.ok(Math.abs(c.recall - 299 / 379) < 1e-12);
    // Going one step lower would serve 21 false of 400: over the target.
    assert.ok(wilsonUpperBound(21, 400) > 0.02);
  });

  it('returns no threshold when too few clean hits exist to bound the rate', () => {
    // 50 clean hits bound the rate at ~0.051 at best.
    const c = calibrateThreshold(at(0.99, 50), { target: 0.02 });
    assert.equal(c.threshold, null);
    assert.equal(c.hits, 0);
  });

  it('serves ties together: a false hit at the same similarity as clean ones counts at that threshold', () => {
    const c = calibrateThreshold([...at(0.97, 300), ...at(0.9, 300, 30)], { target: 0.02 });
    assert.equal(c.threshold, 0.97);
  });

  it('never goes below the floor', () => {
    const c = calibrateThreshold(at(0.3, 1000), { target: 0.02, floor: 0.5 });
    assert.equal(c.threshold, null);
  });

  it('the chosen threshold always satisfies the bound on the data it was fitted on (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ similarity: fc.double({ min: 0.5, max: 1, noNaN: true }), correct: fc.boolean() }), { maxLength: 400 }),
        fc.double({ min: 0.01, max: 0.3, noNaN: true }),
        (labelled, target) => {
          const c = calibrateThreshold(labelled, { target });
          if (c.threshold === null) return;
          const e = evaluateThreshold(labelled, c.threshold);
          assert.equal(e.hits, c.hits);
          assert.equal(e.falseHits, c.falseHits);
          assert.ok(wilsonUpperBound(e.falseHits, e.hits) <= target + 1e-12);
        },
      ),
    );
  });

  it('refuses a target outside (0, 1) and a non-finite similarity', () => {
    assert.throws(() => calibrateThreshold([], { target: 0 }), RangeError);
    assert.throws(() => calibrateThreshold([{ similarity: Number.NaN, correct: true }]), RangeError);
  });
});

describe('semanticCacheSettings and cacheTtlSeconds', () => {
  it('fills the defaults and keeps what the document sets', () => {
    assert.deepEqual(semanticCacheSettings({}), { enabled: true, defaultThreshold: 0.95, falseHitTarget: 0.02, maxEntriesPerScope: 1000 });
    assert.equal(semanticCacheSettings({ semantic_cache: { default_threshold: 0.9 } }).defaultThreshold, 0.9);
  });

  it("takes the intent's TTL over the class's, and 0 when the class allows no cache", () => {
    const classifier = {
      intents: [
        { name: 'faq', examples: ['x'], high_risk: false, cache_ttl_s: 604800 },
        { name: 'medical', examples: ['y'], high_risk: true, cache_ttl_s: 0 },
        { name: 'other', examples: ['z'], high_risk: false },
      ],
      complexity_threshold: 0.4,
      risk_threshold: 0.6,
      high_risk_min_score: 0.14,
      high_risk_min_margin: 0,
    };
    const slo = { cache_allowed: true, cache_ttl_s: 3600 };
    assert.equal(cacheTtlSeconds({ classifier }, slo, 'faq'), 604800);
    assert.equal(cacheTtlSeconds({ classifier }, slo, 'medical'), 0);
    assert.equal(cacheTtlSeconds({ classifier }, slo, 'other'), 3600);
    assert.equal(cacheTtlSeconds({ classifier }, slo, null), 3600);
    assert.equal(cacheTtlSeconds({ classifier }, { cache_allowed: false, cache_ttl_s: 3600 }, 'faq'), 0);
  });
});

describe('semantic labels', () => {
  it("normalises answers as SQuAD's evaluation does", () => {
    assert.equal(normaliseAnswer('The  Denver Broncos!'), 'denver broncos');
    assert.ok(sameAnswer(['Denver Broncos'], ['the Denver Broncos', 'Broncos']));
    assert.ok(!sameAnswer(['1998'], ['1999']));
    assert.ok(!sameAnswer([''], ['']));
  });

  it('rewords deterministically and never returns the question unchanged', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 80 }), fc.string({ maxLength: 12 }), (q, seed) => {
        const r = reword(q, seed);
        assert.equal(r, reword(q, seed));
        assert.notEqual(r.trim(), q.trim());
      }),
    );
    assert.match(reword('How many people live in Paris?', 'x'), /What number of people live in Paris/);
  });

  it('splits paragraphs, not questions, and roughly in half', () => {
    const groups = Array.from({ length: 400 }, (_, i) => `a0-p${i}`);
    const calibrate = groups.filter((g) => splitOf(g) === 'calibrate').length;
    assert.ok(calibrate > 150 && calibrate < 250, `calibrate half has ${calibrate} of 400`);
  });

  it('alternates cache and near-miss within a paragraph and rewords every cached question', () => {
    const qs: LabelledQuestion[] = ['q1', 'q2', 'q3', 'q4', 'q5'].map((id, i) => ({ id, text: `Who wrote book ${i}?`, answers: [`a${i}`], group: 'p' }));
    const { cached, queries } = buildLookupSet(qs);
    assert.deepEqual(
      cached.map((c) => c.id),
      ['q1', 'q3', 'q5'],
    );
    assert.deepEqual(
      queries.filter((q) => q.kind === 'near_miss').map((q) => q.id),
      ['q2', 'q4'],
    );
    assert.deepEqual(
      queries.filter((q) => q.kind === 'reworded').map((q) => q.sourceId),
      ['q1', 'q3', 'q5'],
    );
  });

  it('labels each lookup by its nearest cached question and the gold answers', () => {
    const cached: LabelledQuestion[] = [
      { id: 'c1', text: 'x', answers: ['Paris'], group: 'g' },
      { id: 'c2', text: 'y', answers: ['Berlin'], group: 'g' },
    ];
    const lookups = labelLookups(
      cached,
      [
        [1, 0],
        [0, 1],
      ],
      [
        { id: 'r1', text: 'x?', answers: ['paris'], kind: 'reworded', sourceId: 'c1' },
        { id: 'n1', text: 'z', answers: ['Rome'], kind: 'near_miss', sourceId: null },
      ],
      [
        [2, 0.1],
        [0.2, 3],
      ],
    );
    assert.equal(lookups[0]!.neighbourId, 'c1');
    assert.equal(lookups[0]!.correct, true);
    assert.ok(lookups[0]!.similarity > 0.99);
    assert.equal(lookups[1]!.neighbourId, 'c2');
    assert.equal(lookups[1]!.correct, false);
  });
});
