import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_PROMPT_TEMPLATE, MAX_POOLS_FILE_BYTES, PoolsConfigError, TIERS, loadPoolsConfig, parsePoolsConfig, poolMaxInflight } from './pool-config.js';
import { templateId } from './prompt-template.js';

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

  it('defaults: the chat API, the rag-chat@1 template, auto-detected metrics (local.json and compose.json stay valid)', () => {
    assert.equal(DEFAULT_PROMPT_TEMPLATE, path.join(repo, 'infra/prompts/rag-chat.v1.json'));
    for (const file of [local, path.join(repo, 'infra/pools/compose.json')]) {
      const cfg = loadPoolsConfig(file);
      for (const tier of TIERS) {
        assert.equal(cfg.pools[tier].api, 'chat');
        assert.equal(templateId(cfg.pools[tier].template), 'rag-chat@1');
        assert.equal(cfg.pools[tier].template.file, DEFAULT_PROMPT_TEMPLATE);
        assert.ok(cfg.pools[tier].endpoints.every((e) => e.metrics_dialect === 'auto'));
      }
    }
  });

  describe('per-pool api and prompt_template, per-endpoint metrics_dialect', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pools-tpl-'));
    mkdirSync(path.join(dir, 'prompts'));
    const gemma = path.join(repo, 'infra/prompts/squad-completions-gemma.v1.json');
    const ep = { url: 'http://127.0.0.1:1', max_inflight: 2, max_num_seqs: 1, gpu_type: 'cpu', usd_per_gpu_hour: 0 };
    const write = (name: string, pools: Record<string, object>): string => {
      const file = path.join(dir, name);
      writeFileSync(
        file,
        JSON.stringify({
          version: 1,
          pools: { S: { model: 's', endpoints: [ep] }, M: { model: 'm', endpoints: [ep] }, L: { model: 'l', endpoints: [ep] }, ...pools },
        }),
      );
      return file;
    };

    it('resolves prompt_template against the pool file directory and keeps the dialect', () => {
      writeFileSync(
        path.join(dir, 'prompts', 'mine.v3.json'),
        readFileSync(gemma, 'utf8').replace('"squad-completions-gemma"', '"mine"').replace('"version": 1', '"version": 3'),
      );
      const file = write('relative.json', {
        M: { model: 'gemma', api: 'completions', prompt_template: 'prompts/mine.v3.json', endpoints: [{ ...ep, metrics_dialect: 'llamacpp' }] },
        L: { model: 'gemma', api: 'completions', prompt_template: path.relative(dir, gemma), endpoints: [ep] },
      });
      const cfg = loadPoolsConfig(file);
      assert.equal(templateId(cfg.pools.M.template), 'mine@3');
      assert.equal(cfg.pools.M.template.file, path.join(dir, 'prompts', 'mine.v3.json'));
      assert.equal(cfg.pools.M.endpoints[0]!.metrics_dialect, 'llamacpp');
      assert.equal(templateId(cfg.pools.L.template), 'squad-completions-gemma@1');
      assert.equal(cfg.pools.S.api, 'chat');
    });

    it('rejects a template that is missing, invalid or for the other api, naming the pool file, the pool and the template field', () => {
      writeFileSync(path.join(dir, 'prompts', 'broken.v1.json'), JSON.stringify({ name: 'broken', version: 1, api: 'completions', prompt: 'Q: {{quesiton}}' }));
      const file = write('bad-templates.json', {
        S: { model: 's', prompt_template: 'prompts/absent.json', endpoints: [ep] },
        M: { model: 'm', api: 'completions', prompt_template: 'prompts/broken.v1.json', endpoints: [ep] },
        L: { model: 'l', prompt_template: gemma, endpoints: [ep] },
      });
      assert.throws(
        () => loadPoolsConfig(file),
        (e: unknown) => {
          assert.ok(e instanceof PoolsConfigError);
          for (const part of [
            `${file}: `,
            `pools.S.prompt_template: cannot read prompt template ${path.join(dir, 'prompts', 'absent.json')}`,
            `pools.M.prompt_template: prompt template ${path.join(dir, 'prompts', 'broken.v1.json')}: prompt: unknown variable {{quesiton}}`,
            `pools.L.prompt_template: prompt template ${gemma} (squad-completions-gemma@1) is for api "completions", the pool's api is "chat"`,
          ])
            assert.ok(e.message.includes(part), `${part}\nin ${e.message}`);
          return true;
        },
      );
    });

    it('rejects an unknown api or metrics dialect', () => {
      const file = write('bad-enums.json', { S: { model: 's', api: 'embeddings', endpoints: [{ ...ep, metrics_dialect: 'tgi' }] } });
      assert.throws(() => loadPoolsConfig(file), /pools\.S\.api: .*pools\.S\.endpoints\.0\.metrics_dialect: /);
    });
  });
});
