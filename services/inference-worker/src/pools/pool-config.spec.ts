import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_POOLS_FILE_BYTES, PoolsConfigError, loadPoolsConfig, parsePoolsConfig, poolMaxInflight } from './pool-config.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');
const local = path.join(repo, 'infra/pools/local.json');

describe('pool config', () => {
  it('loads the local pools with defaults for the saturation and breaker policy', () => {
    const cfg = loadPoolsConfig(local);
    assert.ok(cfg.version >= 1);
    assert.equal(cfg.circuit_breaker.consecutive_failures, 3);
    assert.equal(cfg.circuit_breaker.window_ms, 10_000);
    assert.equal(
      poolMaxInflight(cfg.pools.S),
      cfg.pools.S.endpoints.reduce((n, e) => n + e.max_inflight, 0),
    );
  });

  it('names every invalid field', () => {
    const raw = JSON.parse(readFileSync(local, 'utf8')) as {
      version: unknown;
      pools: { S: { endpoints: { url: string; max_inflight: number }[] } };
      saturation: object;
    };
    raw.version = 'two';
    raw.pools.S.endpoints[0]!.url = 'not a url';
    raw.pools.S.endpoints[0]!.max_inflight = 0;
    raw.saturation = { high_watermark: 0.5, low_watermark: 0.6 };
    assert.throws(
      () => parsePoolsConfig(JSON.stringify(raw), 'x.json'),
      (e: unknown) => {
        assert.ok(e instanceof PoolsConfigError);
        for (const field of ['x.json', 'version:', 'pools.S.endpoints.0.url:', 'pools.S.endpoints.0.max_inflight:', 'saturation:'])
          assert.ok(e.message.includes(field), `${field} in ${e.message}`);
        return true;
      },
    );
  });

  it('refuses malformed, hostile and duplicate input with a clear error', () => {
    assert.throws(() => parsePoolsConfig('{"version": 1,', 'x'), /not valid JSON/);
    assert.throws(() => parsePoolsConfig('null', 'x'), PoolsConfigError);
    assert.throws(() => parsePoolsConfig('{"__proto__": {"version": 1}}', 'x'), /version/);
    const dup = JSON.parse(readFileSync(local, 'utf8')) as { pools: { M: { endpoints: unknown[] } } };
    dup.pools.M.endpoints.push(dup.pools.M.endpoints[0]);
    assert.throws(() => parsePoolsConfig(JSON.stringify(dup), 'x'), /unique/);
    assert.throws(() => loadPoolsConfig('/nonexistent/pools.json'), /cannot read/);
  });

  it('refuses an oversized file before reading it', () => {
    const big = path.join(mkdtempSync(path.join(os.tmpdir(), 'pools-')), 'big.json');
    writeFileSync(big, `{"version": 1, "pad": "${'x'.repeat(MAX_POOLS_FILE_BYTES)}"}`);
    assert.throws(
      () => loadPoolsConfig(big),
      (e: unknown) => e instanceof PoolsConfigError && /more than the 1048576 allowed/.test(e.message),
    );
  });
});
