import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { judgePromptTemplateSchema, llmJudgeSampled, renderJudgePrompt, yesProbability } from './llm-judge.js';

describe('renderJudgePrompt', () => {
  it('numbers the chunks, cuts the context and inserts values verbatim', () => {
    const t = judgePromptTemplateSchema.parse({ name: 't', version: 1, prompt: 'C:{{context}}|Q:{{question}}|A:{{answer}}', max_context_chars: 100 });
    assert.equal(renderJudgePrompt(t, { question: 'q {{answer}}', context: ['one', 'two'], answer: 'a' }), 'C:[1] one\n\n[2] two|Q:q {{answer}}|A:a');
    assert.equal(renderJudgePrompt(t, { question: 'q', context: ['x'.repeat(500)], answer: 'a' }).length, 'C:|Q:q|A:a'.length + 100);
  });
  it('refuses a template with unknown fields', () => {
    assert.throws(() => judgePromptTemplateSchema.parse({ name: 't', version: 1, prompt: 'p', temperature: 1 }));
  });
});

describe('yesProbability', () => {
  it('reads llama.cpp top log-probabilities (content[0].top_logprobs)', () => {
    const body = {
      choices: [
        {
          text: ' Yes',
          logprobs: {
            content: [
              {
                token: ' Yes',
                logprob: Math.log(0.6),
                top_logprobs: [
                  { token: ' Yes', logprob: Math.log(0.6) },
                  { token: ' The', logprob: Math.log(0.2) },
                  { token: ' No', logprob: Math.log(0.15) },
                  { token: ' yes', logprob: Math.log(0.05) },
                ],
              },
            ],
          },
        },
      ],
    };
    assert.deepEqual(yesProbability(body), { p_yes: 0.8125, method: 'logprobs' }); // (0.6 + 0.05) / (0.6 + 0.05 + 0.15)
  });
  it('reads the legacy OpenAI shape (top_logprobs[0] as token -> logprob)', () => {
    assert.deepEqual(yesProbability({ choices: [{ text: 'no', logprobs: { top_logprobs: [{ no: Math.log(0.75), yes: Math.log(0.25) }] } }] }), {
      p_yes: 0.25,
      method: 'logprobs',
    });
  });
  it('falls back to the generated token, and gives null for anything else', () => {
    assert.deepEqual(yesProbability({ choices: [{ text: ' No.' }] }), { p_yes: 0, method: 'token' });
    assert.deepEqual(yesProbability({ choices: [{ text: 'Yes', logprobs: null }] }), { p_yes: 1, method: 'token' });
    assert.equal(yesProbability({ choices: [{ text: 'Maybe' }] }), null);
    assert.equal(yesProbability({}), null);
    assert.equal(yesProbability(null), null);
  });
});

describe('llmJudgeSampled', () => {
  const s = { tiers: { S: 1, M: 0.25, L: 0 }, routes: { faq: 0 } };
  it('follows the tier rate, a route override first', () => {
    assert.equal(llmJudgeSampled('j1', 'S', null, s), true);
    assert.equal(llmJudgeSampled('j1', 'L', null, s), false);
    assert.equal(llmJudgeSampled('j1', 'S', 'faq', s), false);
    assert.equal(llmJudgeSampled('j1', 'S', 'other-route', s), true);
  });
  it('samples close to the rate, the same way for the same job', () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `job-${i}`);
    const share = ids.filter((id) => llmJudgeSampled(id, 'M', null, s)).length / ids.length;
    assert.ok(share > 0.22 && share < 0.28, String(share));
    assert.ok(ids.every((id) => llmJudgeSampled(id, 'M', null, s) === llmJudgeSampled(id, 'M', null, s)));
  });
});
