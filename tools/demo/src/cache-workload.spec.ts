import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cacheSummary, followUps, kindOf } from './cache-workload.js';
import type { SquadQuestion } from './squad.js';

const q = (id: string, question: string, answers: string[]): SquadQuestion => ({ id, tenantId: 'tenant-a', question, goldDocumentId: 'a0-p0', answers });

describe('followUps', () => {
  const questions = Array.from({ length: 500 }, (_, i) => q(`q${i}`, `Who wrote book number ${i}?`, [`author ${i}`]));

  it('repeats about one in N verbatim and rewords about one in N of the others, the same on every call', () => {
    const f = followUps(questions, 5, 5);
    assert.deepEqual(f, followUps(questions, 5, 5));
    const repeats = f.filter((x) => kindOf(x.id) === 'repeat');
    const rewords = f.filter((x) => kindOf(x.id) === 'reword');
    assert.ok(repeats.length > 70 && repeats.length < 130, `${repeats.length} repeats of 500`);
    assert.ok(rewords.length > 50 && rewords.length < 115, `${rewords.length} rewordings of 500`);
    for (const r of repeats) assert.equal(r.question, questions.find((x) => `${x.id}~repeat` === r.id)!.question);
    for (const r of rewords) {
      const src = questions.find((x) => `${x.id}~reword` === r.id)!;
      assert.notEqual(r.question, src.question);
      assert.deepEqual(r.answers, src.answers);
    }
    assert.equal(new Set(f.map((x) => x.id.split('~')[0])).size, f.length, 'a question gets at most one follow-up');
  });

  it('asks nothing more with 0', () => {
    assert.deepEqual(followUps(questions, 0, 0), []);
  });
});

describe('cacheSummary', () => {
  const afc = q('q1', 'Which NFL team represented the AFC at Super Bowl 50?', ['Denver Broncos']);
  const nfc = q('q2', 'Which NFL team represented the NFC at Super Bowl 50?', ['Carolina Panthers']);
  const winner = q('q3', 'Which team won Super Bowl 50?', ['Denver Broncos', 'the Broncos']);
  const rew = { ...afc, id: 'q1~reword', question: 'Can you tell me which NFL team represented the AFC at Super Bowl 50?' };
  const rep = { ...afc, id: 'q1~repeat' };
  const semantic = ['semantic_cache_hit_meets_quality→serve_cache'];

  it('counts hits by layer and kind, and a semantic hit is false when the source question has other gold answers', () => {
    const hits = new Map([
      ['j2', { source_prompt: afc.question, similarity: 0.96, threshold: 0.948, route: 'squad-qa' }],
      ['j3', { source_prompt: afc.question, similarity: 0.95, threshold: 0.948, route: 'squad-qa' }],
      ['j4', { source_prompt: afc.question, similarity: 0.99, threshold: 0.948, route: 'squad-qa' }],
    ]);
    const s = cacheSummary(
      [
        { jobId: 'j1', question: afc, reasons: ['cheapest_tier_meeting_quality→S'], completed: true },
        { jobId: 'j2', question: nfc, reasons: semantic, completed: true },
        { jobId: 'j3', question: winner, reasons: semantic, completed: true },
        { jobId: 'j4', question: rew, reasons: semantic, completed: true },
        { jobId: 'j5', question: rep, reasons: ['exact_cache_hit_meets_quality→serve_cache'], completed: true },
        { jobId: 'j6', question: winner, reasons: ['projected_cost_over_budget→serve_cache'], completed: true },
      ],
      hits,
      [afc, nfc, winner, rew, rep],
    );
    assert.equal(s.exact_hits, 1);
    assert.equal(s.semantic_hits, 3);
    assert.equal(s.degrade_hits, 1);
    assert.equal(s.semantic_false_hits, 1, 'NFC served the AFC answer; the winner question shares the answer, the rewording is the same question');
    assert.ok(Math.abs(s.semantic_false_hit_rate - 1 / 3) < 1e-12);
    assert.equal(s.false_hit_examples[0]?.asked, nfc.question);
    assert.deepEqual(s.thresholds, { 'tenant-a/squad-qa': 0.948 });
    assert.deepEqual(s.by_kind.reword, { asked: 1, exact: 0, semantic: 1 });
    assert.deepEqual(s.by_kind.repeat, { asked: 1, exact: 1, semantic: 0 });
    assert.equal(s.by_kind.original.asked, 4);
  });

  it('does not judge a hit whose source the run did not ask', () => {
    const s = cacheSummary(
      [{ jobId: 'j1', question: nfc, reasons: semantic, completed: true }],
      new Map([['j1', { source_prompt: 'asked in an earlier run', similarity: 0.97, threshold: 0.95, route: 'squad-qa' }]]),
      [nfc],
    );
    assert.equal(s.semantic_unknown_source, 1);
    assert.equal(s.semantic_false_hits, 0);
    assert.ok(Number.isNaN(s.semantic_false_hit_rate));
  });
});
