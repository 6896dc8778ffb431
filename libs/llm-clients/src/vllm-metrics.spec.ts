import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EngineHandle } from '@llmgov/vllm-sim';
import { LlmEndpointError } from './errors.js';
import { startTwoSlotSim } from './test/busy-sim.js';
import { metricsUrl, parsePrometheusText, scrapeVllmMetrics, vllmLoadFromSamples } from './vllm-metrics.js';

const SAMPLE = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3.0
vllm:num_requests_running{engine="1",model_name="m"} 2
vllm:num_requests_running{engine="0",model_name="other"} 7
vllm:num_requests_waiting{model_name="m",engine="0"} 4 1712345678000
vllm:num_requests_waiting{model_name="m",engine="1"} 0
vllm:gpu_cache_usage_perc{model_name="m",engine="0"} 0.25
vllm:gpu_cache_usage_perc{model_name="m",engine="1"} 0.5
weird_label{a="x\\"y,z}",b="back\\\\slash\\nnl"} +Inf
not a metric line at all
vllm:e2e_request_latency_seconds_bucket{le="0.3",model_name="m"} 12
`;

describe('Prometheus text parsing', () => {
  it('parses names, escaped label values, timestamps and special values', () => {
    const samples = parsePrometheusText(SAMPLE);
    const weird = samples.find((s) => s.name === 'weird_label');
    assert.deepEqual(weird, { name: 'weird_label', labels: { a: 'x"y,z}', b: 'back\\slash\nnl' }, value: Infinity });
    assert.equal(samples.find((s) => s.name === 'vllm:num_requests_waiting')?.value, 4);
    assert.equal(samples.filter((s) => s.name === 'vllm:num_requests_running').length, 3);
  });

  it('sums counts and maxes KV usage over series, filters by model, falls back to gpu_cache_usage_perc', () => {
    const samples = parsePrometheusText(SAMPLE);
    assert.deepEqual(vllmLoadFromSamples(samples, 'm'), { load: { running: 5, waiting: 4, kvCacheUsage: 0.5 }, missing: [] });
    assert.equal(vllmLoadFromSamples(samples).load.running, 12);
    assert.deepEqual(vllmLoadFromSamples(samples, 'nope').missing.length, 3);
  });

  it('builds the metrics URL at the server root', () => {
    assert.equal(metricsUrl('http://h:8000/v1/'), 'http://h:8000/metrics');
    assert.equal(metricsUrl('http://h:8000'), 'http://h:8000/metrics');
  });
});

describe('scrapeVllmMetrics against vllm-sim', () => {
  let engine: EngineHandle;
  before(async () => {
    engine = await startTwoSlotSim();
  });
  after(() => engine.close());

  it('reads running, waiting and KV usage while the engine is busy, and zeros when idle', async () => {
    const before = Date.now();
    const idle = await scrapeVllmMetrics(engine.url, { timeoutMs: 10_000 });
    assert.deepEqual({ ...idle, scrapedAt: 0 }, { running: 0, waiting: 0, kvCacheUsage: 0, scrapedAt: 0 });
    assert.ok(idle.scrapedAt >= before && idle.scrapedAt <= Date.now(), 'scrapedAt is when the answer arrived');
    const body = JSON.stringify({ model: 'm', prompt: Array(1000).fill(3), max_tokens: 40, ignore_eos: true, stream: true });
    const streams = await Promise.all([1, 2, 3, 4].map(() => fetch(`${engine.url}/v1/completions`, { method: 'POST', body })));
    const busy = await scrapeVllmMetrics(`${engine.url}/v1`, { modelName: 'm' });
    assert.equal(busy.running, 2);
    assert.equal(busy.waiting, 2);
    assert.ok(busy.kvCacheUsage > 0.2 && busy.kvCacheUsage < 0.21, String(busy.kvCacheUsage));
    await Promise.all(streams.map((s) => s.text()));
  });

  it('throws classified errors: not a vLLM server, HTTP error, connection refused, timeout', async () => {
    const server: Server = createServer((req, res) => {
      if (req.url === '/slow/metrics') return; // never answers
      if (req.url === '/broken/metrics') return void res.writeHead(500).end('boom');
      res.writeHead(200, { 'content-type': 'text/plain' }).end('up 1\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await assert.rejects(
        scrapeVllmMetrics(base),
        (e: unknown) => e instanceof LlmEndpointError && e.source === 'engine' && !e.retriable && /lacks vllm:num_requests_running/.test(e.message),
      );
      await assert.rejects(scrapeVllmMetrics(`${base}/broken`), (e: unknown) => e instanceof LlmEndpointError && e.status === 500 && e.retriable);
      await assert.rejects(scrapeVllmMetrics(`${base}/slow`, { timeoutMs: 50 }), (e: unknown) => e instanceof LlmEndpointError && e.source === 'timeout');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await assert.rejects(scrapeVllmMetrics(base, { timeoutMs: 1000 }), (e: unknown) => e instanceof LlmEndpointError && e.source === 'network' && e.retriable);
  });
});
