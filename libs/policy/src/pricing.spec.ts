import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { projectedCostUsd } from './pricing.js';
import { formatTemplateRef, parseTemplateRef, templateContentProblems, templateFileName } from './templates.js';

describe('projectedCostUsd', () => {
  it('prices tokens at the per-1M prices of an API tier', () => {
    const price = { kind: 'api', usd_per_1m_prompt_tokens: 2, usd_per_1m_completion_tokens: 8 } as const;
    assert.equal(projectedCostUsd(price, { prompt_tokens: 500_000, completion_tokens: 250_000 }), 1 + 2);
    assert.equal(projectedCostUsd(price, { prompt_tokens: 0, completion_tokens: 0 }), 0);
  });

  it('prices the estimated GPU-seconds at the GPU-hour price of a self-hosted tier', () => {
    const price = { kind: 'self_hosted', usd_per_gpu_hour: 3.6, prompt_tokens_per_gpu_s: 300, completion_tokens_per_gpu_s: 50 } as const;
    // 600 / 300 + 100 / 50 = 4 GPU-seconds; 3.6 USD/h = 0.001 USD/s.
    assert.ok(Math.abs(projectedCostUsd(price, { prompt_tokens: 600, completion_tokens: 100 }) - 0.004) < 1e-12);
  });

  it('refuses to estimate a self-hosted price that declares no throughputs', () => {
    assert.throws(
      () => projectedCostUsd({ kind: 'self_hosted', usd_per_gpu_hour: 1 }, { prompt_tokens: 1, completion_tokens: 1 }),
      /no prompt_tokens_per_gpu_s/,
    );
  });

  it('refuses negative or non-finite token counts', () => {
    const price = { kind: 'api', usd_per_1m_prompt_tokens: 1, usd_per_1m_completion_tokens: 1 } as const;
    assert.throws(() => projectedCostUsd(price, { prompt_tokens: -1, completion_tokens: 0 }), RangeError);
    assert.throws(() => projectedCostUsd(price, { prompt_tokens: 1, completion_tokens: Number.NaN }), RangeError);
  });
});

describe('template references', () => {
  it('parse and format name@version, and name the file NAME.vVERSION.json', () => {
    const ref = parseTemplateRef('squad-chat-smollm2@12');
    assert.deepEqual(ref, { name: 'squad-chat-smollm2', version: 12 });
    assert.equal(formatTemplateRef(ref), 'squad-chat-smollm2@12');
    assert.equal(templateFileName(ref), 'squad-chat-smollm2.v12.json');
    for (const bad of ['x', 'x@0', 'x@', '@1', '../x@1', 'x@1.0']) assert.throws(() => parseTemplateRef(bad), /not a template reference/, bad);
  });

  it('check that a file is the template it is referenced as', () => {
    const ref = { name: 't', version: 2 };
    assert.deepEqual(templateContentProblems(ref, { name: 't', version: 2, api: 'chat' }), []);
    assert.deepEqual(templateContentProblems(ref, { name: 'u', version: 1 }), ['its name is "u", not "t"', 'its version is 1, not 2']);
    assert.deepEqual(templateContentProblems(ref, [1]), ['the template file is not a JSON object']);
  });
});
