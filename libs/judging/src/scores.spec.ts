import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { combineScores, scoreCompletion, type JudgeWeights } from './scores.js';
import type { SentenceEmbedder } from './semantic.js';

const w: JudgeWeights = { version: 't', semantic_share: 0.5, w_faithfulness: 0.6, w_relevance: 0.2, w_completeness: 0.2, threshold: 0.5 };

describe('combineScores', () => {
  it('mixes lexical and semantic support into faithfulness, then weights the three scores', () => {
    const s = combineScores({ lexical: 0.4, semantic: 0.8, relevance: 0.5, completeness: 1, refusal: false }, w);
    assert.equal(s.faithfulness, 0.6);
    assert.equal(s.quality, 0.66); // 0.6*0.6 + 0.2*0.5 + 0.2*1
  });
  it('uses lexical support alone without a semantic score', () => {
    assert.equal(combineScores({ lexical: 0.4, semantic: null, relevance: 0, completeness: 0, refusal: false }, w).faithfulness, 0.4);
  });
});

describe('scoreCompletion', () => {
  const input = {
    prompt: 'Who were the Normans descended from?',
    answer: 'Norse raiders.',
    contextTexts: ['The Normans were descended from Norse raiders.'],
    finishReason: 'stop',
  };

  it('scores lexically without a client', async () => {
    const s = await scoreCompletion(input, w);
    assert.equal(s.lexical, 1);
    assert.equal(s.semantic, null);
    assert.equal(s.completeness, 1);
    assert.equal(s.refusal, false);
  });

  it('falls back to lexical scores and reports the error when the embeddings client fails', async () => {
    const errors: unknown[] = [];
    const failing: SentenceEmbedder = {
      embed: async () => {
        throw new Error('connection refused');
      },
    };
    const s = await scoreCompletion(input, w, failing, (e) => errors.push(e));
    assert.equal(s.semantic, null);
    assert.equal(s.faithfulness, 1);
    assert.equal(errors.length, 1);
  });
});

describe('combineScores with an LLM judge score', () => {
  it('averages the cheap faithfulness with P(yes)', () => {
    const s = combineScores({ lexical: 0.4, semantic: 0.8, relevance: 0.5, completeness: 1, refusal: false, llm: 0.2 }, w);
    assert.equal(s.faithfulness, 0.4); // (0.6 + 0.2) / 2
    assert.equal(s.llm, 0.2);
    assert.equal(combineScores({ lexical: 0.4, semantic: null, relevance: 0, completeness: 0, refusal: false }, w).llm, null);
  });
});
