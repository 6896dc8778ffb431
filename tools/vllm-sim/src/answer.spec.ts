import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_CONTEXT_ANSWER, NOT_FOUND_ANSWER, extractiveAnswer, questionFromChat, questionFromPrompt, splitSentences } from './answer.js';

const PASSAGE =
  'Context: The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France. ' +
  'They were descended from Norse raiders and pirates from Denmark, Iceland and Norway. ' +
  'The Norman dynasty had a major political, cultural and military impact on medieval Europe.';

describe('extractive stand-in answer', () => {
  it('answers a chat question with the context sentence sharing the most content words', () => {
    const qc = questionFromChat([
      { role: 'system', content: PASSAGE },
      { role: 'user', content: 'From which countries did the Norse raiders originate?' },
    ]);
    assert.equal(qc.question, 'From which countries did the Norse raiders originate?');
    assert.equal(extractiveAnswer(qc), 'They were descended from Norse raiders and pirates from Denmark, Iceland and Norway.');
  });

  it('uses the line after the final Question: marker and strips context labels', () => {
    const prompt = `${PASSAGE}\n\nQuestion: In what country is Normandy located?\nAnswer:`;
    const qc = questionFromPrompt(prompt);
    assert.equal(qc.question, 'In what country is Normandy located?');
    assert.equal(extractiveAnswer(qc), 'The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France.');
  });

  it('finds the question inside the last user message when it carries the context too', () => {
    const qc = questionFromChat([{ role: 'user', content: `${PASSAGE}\nQuestion:\nWho had an impact on medieval Europe?` }]);
    assert.equal(qc.question, 'Who had an impact on medieval Europe?');
    assert.match(extractiveAnswer(qc), /^The Norman dynasty/);
  });

  it("answers from the retrieved context when the prompt holds it, and not at all when it does not (infra/prompts' rag-chat@1 and its negative control)", () => {
    // The worker's DEFAULT_SYSTEM_PROMPT, then rag-chat@1's user message, and rag-chat-no-context@1's.
    const system = { role: 'system', content: 'Answer the question using only the context. If the context does not contain the answer, say so.' };
    const question = 'From which countries did the Norse raiders originate?';
    const withContext = questionFromChat([system, { role: 'user', content: `Context:\n[1] ${PASSAGE}\n\nQuestion: ${question}` }]);
    const without = questionFromChat([system, { role: 'user', content: `Question: ${question}` }]);
    assert.equal(extractiveAnswer(withContext), 'They were descended from Norse raiders and pirates from Denmark, Iceland and Norway.');
    // Only the instructions are left, and no sentence of them is about the question: the model says it has no answer.
    assert.equal(without.question, question);
    assert.equal(extractiveAnswer(without), NOT_FOUND_ANSWER);
  });

  it('is deterministic, and falls back to fixed sentences', () => {
    const qc = questionFromPrompt(`${PASSAGE}\nQuestion: Who were the Normans?`);
    assert.equal(extractiveAnswer(qc), extractiveAnswer(qc));
    assert.equal(extractiveAnswer({ question: 'anything?', context: '' }), NO_CONTEXT_ANSWER);
    assert.equal(extractiveAnswer(questionFromChat([{ role: 'user', content: 'Hello there?' }])), NO_CONTEXT_ANSWER);
    assert.equal(extractiveAnswer({ question: 'zebra quantum?', context: PASSAGE }), NOT_FOUND_ANSWER);
  });

  it('splits sentences without breaking decimals', () => {
    assert.deepEqual(splitSentences('It cost 3.5 million. Then it fell! [2] Passage 2: Next one?'), ['It cost 3.5 million.', 'Then it fell!', 'Next one?']);
  });
});
