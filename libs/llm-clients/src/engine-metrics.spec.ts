import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineHandle } from '@llmgov/vllm-sim';
import { LlmEndpointError } from './errors.js';
import { startTwoSlotSim } from './test/busy-sim.js';
import { detectMetricsDialect, llamacppLoadFromSamples, scrapeEngineMetrics } from './engine-metrics.js';
import { parsePrometheusText, scrapeVllmMetrics, vllmLoadFromSamples } from './vllm-metrics.js';

// Real /metrics pages, captured (see fixtures/README.md): llama.cpp's server from xllamacpp 2026.10.11549 serving
// Gemma 3 270M with --parallel 2 while 3 requests ran (busy) and after they finished (idle); vllm-sim with
// --max-num-seqs 2 while 3 requests ran.
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');
const fixture = (name: string): string => readFileSync(join(fixtures, name), 'utf8');
const LLAMACPP_BUSY = fixture('llamacpp-busy.prom');
const LLAMACPP_IDLE = fixture('llamacpp-idle.prom');
const VLLM_SIM_BUSY = fixture('vllm-sim-busy.prom');

describe('engine metrics dialects on captured /metrics pages', () => {
  it('detects the dialect from the metric names', () => {
    assert.equal(detectMetricsDialect(parsePrometheusText(LLAMACPP_BUSY)), 'llamacpp');
    assert.equal(detectMetricsDialect(parsePrometheusText(VLLM_SIM_BUSY)), 'vllm');
    assert.equal(detectMetricsDialect(parsePrometheusText('process_cpu_seconds_total 3\nup 1\n')), undefined);
  });

  it('maps llama.cpp requests_processing, requests_deferred and slot occupancy', () => {
    assert.deepEqual(llamacppLoadFromSamples(parsePrometheusText(LLAMACPP_BUSY), 2), { load: { running: 2, waiting: 1, kvCacheUsage: 1 }, missing: [] });
    assert.deepEqual(llamacppLoadFromSamples(parsePrometheusText(LLAMACPP_BUSY), 4).load.kvCacheUsage, 0.5);
    assert.deepEqual(llamacppLoadFromSamples(parsePrometheusText(LLAMACPP_IDLE), 2), { load: { running: 0, waiting: 0, kvCacheUsage: 0 }, missing: [] });
    assert.deepEqual(llamacppLoadFromSamples(parsePrometheusText(LLAMACPP_BUSY)).missing, ['totalSlots']);
    assert.deepEqual(llamacppLoadFromSamples(parsePrometheusText(VLLM_SIM_BUSY), 2).missing, ['llamacpp:requests_processing', 'llamacpp:requests_deferred']);
  });

  it("prefers an older server's kv_cache_usage_ratio over slot occupancy", () => {
    const samples = parsePrometheusText(`${LLAMACPP_BUSY}llamacpp:kv_cache_usage_ratio 0.125\n`);
    assert.equal(llamacppLoadFromSamples(samples, 2).load.kvCacheUsage, 0.125);
  });

  it('reads the vllm-sim page as before', () => {
    assert.deepEqual(vllmLoadFromSamples(parsePrometheusText(VLLM_SIM_BUSY), 'sim-m'), { load: { running: 2, waiting: 1, kvCacheUsage: 0.0155 }, missing: [] });
  });
});

describe('scrapeEngineMetrics over HTTP', () => {
  // Serves the captured llama.cpp page and a /props like the real server's, counting /props requests.
  let server: Server;
  let base: string;
  let propsRequests = 0;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/metrics') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(LLAMACPP_BUSY);
      if (req.url === '/props') {
        propsRequests++;
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ total_slots: 2, model_alias: 'gemma-3-270m' }));
      }
      if (req.url === '/plain/metrics') return void res.writeHead(200).end('up 1\n');
      if (req.url === '/noprops/metrics') return void res.writeHead(200).end(LLAMACPP_BUSY);
      if (req.url === '/noprops/props') return void res.writeHead(200).end('{"model_alias":"x"}');
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('detects llama.cpp, reads total_slots from /props, or skips /props when totalSlots is given', async () => {
    const before = propsRequests;
    const detected = await scrapeEngineMetrics(`${base}/v1`);
    assert.deepEqual({ ...detected, scrapedAt: 0 }, { running: 2, waiting: 1, kvCacheUsage: 1, scrapedAt: 0, dialect: 'llamacpp' });
    assert.equal(propsRequests, before + 1);
    const given = await scrapeEngineMetrics(base, { dialect: 'llamacpp', totalSlots: 8 });
    assert.equal(given.kvCacheUsage, 0.25);
    assert.equal(propsRequests, before + 1, 'no /props request when totalSlots is given');
  });

  it('throws engine errors for a page of neither engine, a wrong given dialect, and a /props without total_slots', async () => {
    const engineError = (re: RegExp) => (e: unknown) => e instanceof LlmEndpointError && e.source === 'engine' && !e.retriable && re.test(e.message);
    await assert.rejects(scrapeEngineMetrics(`${base}/plain`), engineError(/neither vllm:\* nor llamacpp:\*/));
    await assert.rejects(scrapeEngineMetrics(base, { dialect: 'vllm' }), engineError(/lacks vllm:num_requests_running/));
    await assert.rejects(scrapeEngineMetrics(`${base}/noprops`), engineError(/no total_slots; pass totalSlots/));
  });
});

describe('scrapeEngineMetrics against vllm-sim', () => {
  let engine: EngineHandle;
  before(async () => {
    engine = await startTwoSlotSim();
  });
  after(() => engine.close());

  it('detects vLLM and agrees with scrapeVllmMetrics while the engine is busy', async () => {
    // 400 tokens at 5 ms a step keep both slots busy for 2 s, long enough for two scrapes on a loaded machine.
    const body = JSON.stringify({ model: 'm', prompt: Array(1000).fill(3), max_tokens: 400, ignore_eos: true, stream: true });
    const streams = await Promise.all([1, 2, 3].map(() => fetch(`${engine.url}/v1/completions`, { method: 'POST', body })));
    const [auto, vllm] = await Promise.all([scrapeEngineMetrics(engine.url, { modelName: 'm' }), scrapeVllmMetrics(engine.url, { modelName: 'm' })]);
    assert.equal(auto.dialect, 'vllm');
    assert.deepEqual([auto.running, auto.waiting], [vllm.running, vllm.waiting]);
    // KV usage grows by one token per step between the two scrapes: 2 sequences × a few steps of 10 000 tokens.
    assert.ok(auto.kvCacheUsage > 0.2 && Math.abs(auto.kvCacheUsage - vllm.kvCacheUsage) < 0.01, `${auto.kvCacheUsage} vs ${vllm.kvCacheUsage}`);
    assert.equal(auto.running, 2);
    assert.equal(auto.waiting, 1);
    await Promise.all(streams.map((s) => s.text()));
  });
});
