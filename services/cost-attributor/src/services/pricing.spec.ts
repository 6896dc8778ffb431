import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePriceCatalog } from './price-catalog.js';
import { priceUsage, roundUsd } from './pricing.js';

const catalog = parsePriceCatalog(
  {
    version: 'v-test',
    currency: 'USD',
    models: {
      api: { kind: 'api', input_per_1m_tokens: 3, output_per_1m_tokens: 15 },
      gpu: { kind: 'self_hosted', gpu_type: 'H100', usd_per_gpu_hour: 7.2 },
    },
    default: { kind: 'api', input_per_1m_tokens: 1, output_per_1m_tokens: 2 },
  },
  'test',
);
const usage = (model: string, prompt_tokens: number, completion_tokens: number, gpu_seconds: number) => ({
  model,
  prompt_tokens,
  completion_tokens,
  gpu_seconds,
});

describe('priceUsage', () => {
  it('prices API models per million tokens', () => {
    // 1200 / 1e6 * 3 + 300 / 1e6 * 15 = 0.0036 + 0.0045
    const p = priceUsage(catalog, usage('api', 1200, 300, 99));
    assert.deepEqual(p, { costUsd: 0.0081, priceKey: 'api', known: true, catalogVersion: 'v-test' });
  });

  it('prices self-hosted models by GPU-seconds, ignoring tokens', () => {
    // 1.5 s / 3600 * 7.2 = 0.003
    assert.equal(priceUsage(catalog, usage('gpu', 10_000, 10_000, 1.5)).costUsd, 0.003);
    assert.equal(priceUsage(catalog, usage('gpu', 10, 10, 0)).costUsd, 0);
  });

  it("prefers the serving endpoint's GPU price carried by the usage event", () => {
    assert.equal(priceUsage(catalog, { ...usage('gpu', 0, 0, 1800), usd_per_gpu_hour: 2 }).costUsd, 1, '0.5 h x 2 USD');
    assert.equal(priceUsage(catalog, { ...usage('gpu', 0, 0, 1800), usd_per_gpu_hour: null }).costUsd, 3.6, 'catalog 7.2 USD/h');
  });

  it('prices an unknown model with the default and says so', () => {
    const p = priceUsage(catalog, usage('gpt-unknown', 1_000_000, 500_000, 0));
    assert.deepEqual(p, { costUsd: 2, priceKey: 'default', known: false, catalogVersion: 'v-test' });
  });

  it('does not treat inherited object keys as models', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const p = priceUsage(catalog, usage(name, 1_000_000, 0, 0));
      assert.equal(p.known, false, name);
      assert.equal(p.costUsd, 1);
    }
  });

  it('charges nothing for zero usage', () => {
    assert.equal(priceUsage(catalog, usage('api', 0, 0, 0)).costUsd, 0);
  });

  it('rounds to the ledger scale (1e-10 USD)', () => {
    // 1 token at 3 USD / 1M = 3e-6 exactly; 1 GPU-second at 7.2 USD/h = 0.002 exactly; 1/3 is cut at 10 decimals
    assert.equal(priceUsage(catalog, usage('api', 1, 0, 0)).costUsd, 0.000003);
    assert.equal(priceUsage(catalog, usage('gpu', 0, 0, 1)).costUsd, 0.002);
    assert.equal(roundUsd(1 / 3), 0.3333333333);
  });
});
