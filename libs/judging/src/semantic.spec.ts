import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cosine, semanticScores, splitSentences, type SentenceEmbedder } from './semantic.js';

/** A stand-in client for the unit spec: a fixed vector per known sentence (the real model runs in the bench). */
function fakeClient(table: Record<string, number[]>): SentenceEmbedder & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    embed: async (texts: string[]) => {
      calls.push(texts);
      return { vectors: texts.map((t) => table[t] ?? [0, 0, 1]) };
    },
  };
}

describe('splitSentences', () => {
  it('splits at sentence ends and line breaks, dropping symbol-only pieces', () => {
    assert.deepEqual(splitSentences('One here. Two there!  Three?\nFour\n\n...'), ['One here.', 'Two there!', 'Three?', 'Four']);
    assert.deepEqual(splitSentences(''), []);
  });
});

describe('cosine', () => {
  it('is 1 for parallel, 0 for orthogonal and for a zero vector', () => {
    assert.equal(cosine([1, 2], [2, 4]), 1);
    assert.equal(cosine([1, 0], [0, 1]), 0);
    assert.equal(cosine([0, 0], [1, 1]), 0);
  });
});

describe('semanticScores', () => {
  it('takes the best context sentence per answer sentence and averages over answer sentences', async () => {
    const client = fakeClient({
      'Q?': [1, 0, 0],
      'A1. A2.': [1, 0, 0],
      'A1.': [1, 0, 0],
      'A2.': [0, 1, 0],
      'C1.': [1, 0, 0],
      'C2.': [-1, 0, 0],
    });
    const s = await semanticScores(client, 'Q?', 'A1. A2.', ['C1. C2.']);
    // A1 matches C1 exactly (1); A2 is orthogonal to both (0) -> mean 0.5. Negative cosines clamp to 0.
    assert.deepEqual(s, { support: 0.5, relevance: 1 });
    assert.deepEqual(client.calls, [['Q?', 'A1. A2.', 'A1.', 'A2.', 'C1.', 'C2.']]);
  });

  it('is null with nothing to compare, without calling the client', async () => {
    const client = fakeClient({});
    assert.equal(await semanticScores(client, 'Q?', '', ['C1.']), null);
    assert.equal(await semanticScores(client, 'Q?', 'A.', []), null);
    assert.equal(client.calls.length, 0);
  });
});
