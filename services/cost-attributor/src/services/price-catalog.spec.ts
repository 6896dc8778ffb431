import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_CATALOG_PATH } from '../config.js';
import { PriceCatalogError, loadPriceCatalog, parsePriceCatalog } from './price-catalog.js';

const dir = mkdtempSync(path.join(tmpdir(), 'price-catalog-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

const valid = {
  version: 'test-v1',
  currency: 'USD',
  models: { m: { kind: 'api', input_per_1m_tokens: 1, output_per_1m_tokens: 2 } },
  default: { kind: 'self_hosted', gpu_type: 'L4', usd_per_gpu_hour: 1 },
};

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PriceCatalogError, `expected PriceCatalogError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected PriceCatalogError');
}

describe('price catalog', () => {
  it('loads the shipped catalog with the local models', () => {
    const c = loadPriceCatalog(DEFAULT_CATALOG_PATH);
    assert.equal(c.version, '2026-11-v2');
    for (const m of ['local-sim-s', 'local-sim-m', 'local-sim-l', 'smollm2-135m-instruct', 'gemma-3-270m']) assert.equal(c.models[m]?.kind, 'self_hosted');
    for (const m of ['local-hashing-ngram', 'all-MiniLM-L6-v2']) assert.equal(c.models[m]?.kind, 'api');
    assert.ok(c.sources.some((s) => /illustrative/.test(s)));
  });

  it('accepts a minimal valid catalog and defaults sources to []', () => {
    assert.deepEqual(parsePriceCatalog(valid, 'x').sources, []);
  });

  it('reports a missing file', () => {
    const problems = problemsOf(() => loadPriceCatalog(path.join(dir, 'missing.json')));
    assert.match(problems[0]!, /cannot be read: .*ENOENT/);
  });

  it('reports malformed JSON', () => {
    const p = file('bad.json', '{ "version": ');
    assert.match(problemsOf(() => loadPriceCatalog(p))[0]!, /is not valid JSON/);
  });

  it('lists every invalid field with its path at once', () => {
    const bad = {
      version: '',
      currency: 'EUR',
      models: {
        a: { kind: 'api', input_per_1m_tokens: -1, output_per_1m_tokens: 2 },
        b: { kind: 'gpu', usd_per_gpu_hour: 2 },
        c: { kind: 'self_hosted', gpu_type: 'L4' },
      },
    };
    const problems = problemsOf(() => parsePriceCatalog(bad, 'bad'));
    const paths = problems.map((p) => p.split(':')[0]);
    for (const expected of ['version', 'currency', 'models.a.input_per_1m_tokens', 'models.b.kind', 'models.c.usd_per_gpu_hour', 'default']) {
      assert.ok(paths.includes(expected), `missing problem for ${expected} in ${JSON.stringify(problems)}`);
    }
  });

  it('rejects misspelled fields and non-numeric prices', () => {
    const bad = { ...valid, models: { m: { kind: 'api', input_per_1m_token: 1, output_per_1m_tokens: '2' } } };
    const problems = problemsOf(() => parsePriceCatalog(bad, 'bad'));
    assert.ok(problems.some((p) => p.startsWith('models.m.input_per_1m_tokens')));
    assert.ok(problems.some((p) => p.startsWith('models.m.output_per_1m_tokens')));
    assert.ok(problems.some((p) => p.startsWith('models.m') && /input_per_1m_token\b/.test(p)));
  });

  it('names the file in the error message', () => {
    const p = file('neg.json', JSON.stringify({ ...valid, default: { kind: 'api', input_per_1m_tokens: 1, output_per_1m_tokens: -3 } }));
    assert.throws(
      () => loadPriceCatalog(p),
      (err: Error) => err.message.includes(p) && /default\.output_per_1m_tokens/.test(err.message),
    );
  });
});
