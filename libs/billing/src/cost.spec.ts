import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { attributedGpuSeconds, usageCostUsd, worstCaseCost, type ModelPrice } from './cost.js';
import { MAX_MICRO_USD, usdToMicroUsd } from './micro-usd.js';

const api: ModelPrice = { kind: 'api', input_per_1m_tokens: 1, output_per_1m_tokens: 3 };
const gpu: ModelPrice = { kind: 'self_hosted', usd_per_gpu_hour: 3.6 };

describe('usdToMicroUsd', () => {
  it('rounds to the nearest micro-USD, or up for reservations, ignoring floating-point noise', () => {
    assert.equal(usdToMicroUsd(0.29), 290_000);
    assert.equal(usdToMicroUsd(0.29, 'up'), 290_000, '0.29 × 1e6 is 290000.00000000006 in binary floating point');
    assert.equal(usdToMicroUsd(0.0000014), 1);
    assert.equal(usdToMicroUsd(0.0000014, 'up'), 2);
    assert.equal(usdToMicroUsd(0), 0);
  });

  it('refuses negative, non-finite and too large amounts', () => {
    for (const bad of [-0.01, Number.NaN, Number.POSITIVE_INFINITY, (MAX_MICRO_USD + 10) / 1e6]) assert.throws(() => usdToMicroUsd(bad), RangeError);
  });
});

describe('worstCaseCost', () => {
  it('prices prompt tokens plus max_tokens at the token prices', () => {
    const w = worstCaseCost(api, { promptTokens: 1000, maxTokens: 500 });
    // 1000 / 1e6 × 1 + 500 / 1e6 × 3 = 0.0025 USD
    assert.deepEqual(w, { usd: 0.0025, microUsd: 2500, gpuSeconds: null, basis: 'token_prices' });
  });

  it('bounds a self-hosted call by the time left to its deadline, shared by max_num_seqs', () => {
    // 20 s / 4 sequences = 5 GPU-seconds at 3.6 USD/h = 0.005 USD
    const w = worstCaseCost(gpu, { promptTokens: 100, maxTokens: 100 }, { maxNumSeqs: 4, maxCallMs: 20_000 });
    assert.equal(w.gpuSeconds, 5);
    assert.equal(w.basis, 'call_time_bound');
    assert.equal(w.microUsd, 5000);
  });

  it('takes the smaller of the deadline and the token-rate bound', () => {
    // 100 / 100 + 100 / 10 = 11 s < 20 s; 11 s / 1 sequence = 11 GPU-seconds × 0.001 USD/s = 0.011 USD
    const w = worstCaseCost(gpu, { promptTokens: 100, maxTokens: 100 }, { maxNumSeqs: 1, maxCallMs: 20_000, prefillTokensPerS: 100, decodeTokensPerS: 10 });
    assert.equal(w.basis, 'token_rates');
    assert.equal(w.gpuSeconds, 11);
    assert.equal(w.microUsd, 11_000);
  });

  it('refuses bad input with a RangeError', () => {
    assert.throws(() => worstCaseCost(api, { promptTokens: -1, maxTokens: 1 }), RangeError);
    assert.throws(() => worstCaseCost(api, { promptTokens: 1, maxTokens: 1.5 }), RangeError);
    assert.throws(() => worstCaseCost(gpu, { promptTokens: 1, maxTokens: 1 }), /SelfHostedBounds/);
    assert.throws(() => worstCaseCost(gpu, { promptTokens: 1, maxTokens: 1 }, { maxNumSeqs: 2 }), /maxCallMs or the token rates/);
    assert.throws(() => worstCaseCost(gpu, { promptTokens: 1, maxTokens: 1 }, { maxNumSeqs: 0, maxCallMs: 1 }), /maxNumSeqs/);
    assert.throws(() => worstCaseCost(gpu, { promptTokens: 1, maxTokens: 1 }, { maxNumSeqs: 1, prefillTokensPerS: 5 }), /go together/);
    assert.throws(() => worstCaseCost(gpu, { promptTokens: 1, maxTokens: 1 }, { maxNumSeqs: 1, maxCallMs: 0 }), /maxCallMs/);
  });

  it('is never below what the call is then billed (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 0, max: 32_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (promptTokens, maxTokens, share, inPrice, outPrice) => {
          const price: ModelPrice = { kind: 'api', input_per_1m_tokens: inPrice, output_per_1m_tokens: outPrice };
          const completion = Math.floor(maxTokens * share);
          const billed = usdToMicroUsd(usageCostUsd(price, { prompt_tokens: promptTokens, completion_tokens: completion, gpu_seconds: 0 }));
          return billed <= worstCaseCost(price, { promptTokens, maxTokens }).microUsd;
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 256 }),
        (deadlineMs, share, seqs) => {
          const e2eMs = deadlineMs * share; // the client aborts at the deadline: no billed call runs longer
          const billed = usdToMicroUsd(usageCostUsd(gpu, { prompt_tokens: 1, completion_tokens: 1, gpu_seconds: attributedGpuSeconds(e2eMs, seqs) }));
          return billed <= worstCaseCost(gpu, { promptTokens: 1, maxTokens: 1 }, { maxNumSeqs: seqs, maxCallMs: deadlineMs }).microUsd;
        },
      ),
    );
  });
});
