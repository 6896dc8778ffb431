import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_FLOORS, calibrateFloors, figures, predictWithFloors, splitHalves, type ScoredRow } from './high-risk.js';

const HR = new Set(['legal']);
const row = (intent: string, scores: [string, number][], article?: string): ScoredRow => ({
  intent,
  scores: scores.map(([i, s]) => ({ intent: i, score: s })),
  ...(article === undefined ? {} : { article }),
});

describe('high-risk floors', () => {
  it('replays the classifier rule: a high-risk best intent under a floor gives way to the best other intent', () => {
    const s = row('legal', [
      ['legal', 0.2],
      ['legal2', 0.19],
      ['faq', 0.1],
    ]).scores;
    const hr = new Set(['legal', 'legal2']);
    assert.equal(predictWithFloors(s, hr, NO_FLOORS), 'legal');
    assert.equal(predictWithFloors(s, hr, { minScore: 0.25, minMargin: 0 }), 'faq');
    assert.equal(predictWithFloors(s, hr, { minScore: 0, minMargin: 0.05 }), 'faq');
    assert.equal(predictWithFloors(s, hr, { minScore: 0.2, minMargin: 0.01 }), 'legal');
  });

  it('splits each intent alternately into calibration and test rows', () => {
    const rows = ['a', 'b', 'a', 'a', 'b'].map((intent, i) => ({ intent, i }));
    const { calibration, test } = splitHalves(rows);
    assert.deepEqual(
      calibration.map((r) => r.i),
      [0, 1, 3],
    );
    assert.deepEqual(
      test.map((r) => r.i),
      [2, 4],
    );
  });

  it('calibrates the lowest floors that remove false high risk without losing more than one true high-risk row', () => {
    const rows = [
      row('legal', [
        ['legal', 0.5],
        ['faq', 0.1],
      ]),
      row('legal', [
        ['legal', 0.3],
        ['faq', 0.1],
      ]),
      row(
        'faq',
        [
          ['legal', 0.12],
          ['faq', -0.2], // a margin of 0.32, above every margin floor tried: only a score floor removes it
        ],
        'Some_Article',
      ),
      row('faq', [
        ['faq', 0.4],
        ['legal', 0.1],
      ]),
    ];
    const before = figures(rows, HR, NO_FLOORS);
    assert.deepEqual([before.falseHighRisk, before.squadFalseHighRisk, before.highRiskKept], [1, 1, 2]);
    const { floors, figures: after } = calibrateFloors(rows, HR);
    assert.deepEqual(floors, { minScore: 0.13, minMargin: 0 }); // the lowest score floor above the false row's 0.12
    assert.deepEqual([after.falseHighRisk, after.highRiskKept, after.accuracy], [0, 2, 1]);
    // With no high-risk row to spare, a floor that would drop the 0.3 row is never chosen.
    const strict = calibrateFloors(rows, HR, 0);
    assert.equal(strict.figures.highRiskKept, 2);
  });
});
