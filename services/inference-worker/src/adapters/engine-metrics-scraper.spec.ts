import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { routedTopicForTier } from '@llmgov/contracts';
import type { KafkaHandlerHost } from '@llmgov/kafka-runtime';
import { PlatformMetrics, createLogger } from '@llmgov/observability';
import { loadWorkerConfig } from '../config.js';
import { FlowController } from '../services/flow-controller.js';
import { PoolRegistry } from '../services/pool-registry.js';
import { WorkerMetrics } from '../services/worker-metrics.js';
import { scrapeEngineLoad } from './engine-metrics-scraper.js';

// Real /metrics pages captured from llama.cpp's server (xllamacpp) and vllm-sim, kept with @llmgov/llm-clients' specs.
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');
const page = (name: string): string => readFileSync(path.join(repo, 'libs/llm-clients/fixtures', name), 'utf8');
const LLAMA_BUSY = page('llamacpp-busy.prom'); // requests_processing 2, requests_deferred 1
const LLAMA_IDLE = page('llamacpp-idle.prom');
const VLLM_BUSY = page('vllm-sim-busy.prom');

/** One fake engine: serves `body` on /metrics and counts the paths asked for. */
let server: Server;
let url = '';
let body = LLAMA_BUSY;
const asked: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    asked.push(req.url ?? '');
    if (req.url === '/metrics') res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise((r) => server.close(r)));

describe('scrapeEngineLoad (the worker adapter)', () => {
  it("maps llama.cpp's metrics with the endpoint's max_num_seqs as its slots, without asking /props", async () => {
    body = LLAMA_BUSY;
    asked.length = 0;
    const two = await scrapeEngineLoad({ url, metrics_dialect: 'llamacpp', max_num_seqs: 2 }, 1_000);
    assert.deepEqual({ ...two, scrapedAt: 0 }, { running: 2, waiting: 1, kvCacheUsage: 1, scrapedAt: 0, dialect: 'llamacpp' });
    const four = await scrapeEngineLoad({ url, metrics_dialect: 'auto', max_num_seqs: 4 }, 1_000);
    assert.equal(four.dialect, 'llamacpp', 'auto detects llama.cpp');
    assert.equal(four.kvCacheUsage, 0.5, '2 busy slots of 4');
    assert.deepEqual(asked, ['/metrics', '/metrics'], 'no /props request: the pool file gave the slots');
  });

  it('reads vLLM pages as before, and refuses a page in the other dialect than the one configured', async () => {
    body = VLLM_BUSY;
    const load = await scrapeEngineLoad({ url, metrics_dialect: 'auto', max_num_seqs: 4 }, 1_000);
    assert.equal(load.dialect, 'vllm');
    assert.ok(load.running > 0);
    await assert.rejects(scrapeEngineLoad({ url, metrics_dialect: 'llamacpp', max_num_seqs: 4 }, 1_000), /lacks llamacpp:requests_processing/);
  });
});

describe('flow control on llama.cpp metrics (scraper → pool saturation → pause/resume of the tier consumer)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flow-llama-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A KafkaHandlerHost double: one consumer per tier recording whether its topic is paused. */
  function fakeHost() {
    const paused = new Map<string, boolean>();
    const consumer = {
      pause: (topics: string[]) => topics.forEach((t) => paused.set(t, true)),
      resume: (topics: string[]) => topics.forEach((t) => paused.set(t, false)),
      setMaxInFlight: () => undefined,
    };
    return { paused, host: { configureGroup: () => undefined, consumer: () => consumer } as unknown as KafkaHandlerHost };
  }

  it('pauses tier M while its one-slot llama.cpp engine has a request deferred, and resumes when it is idle', async () => {
    const poolsFile = path.join(dir, 'pools.json');
    const other = { model: 'x', endpoints: [{ url: 'http://127.0.0.1:1', max_inflight: 1, max_num_seqs: 1, gpu_type: 'cpu', usd_per_gpu_hour: 0 }] };
    writeFileSync(
      poolsFile,
      JSON.stringify({
        version: 1,
        pools: {
          S: other,
          M: { model: 'smollm2', endpoints: [{ url, max_inflight: 2, max_num_seqs: 1, metrics_dialect: 'llamacpp', gpu_type: 'cpu', usd_per_gpu_hour: 0 }] },
          L: other,
        },
      }),
    );
    const config = { ...loadWorkerConfig(), POOLS_FILE: poolsFile, WORKER_TIERS: ['M' as const] };
    const logger = createLogger('spec', 'silent');
    const metrics = new WorkerMetrics(new PlatformMetrics('spec'));
    const registry = new PoolRegistry(config, logger, metrics);
    const { host, paused } = fakeHost();
    const flow = new FlowController(config, logger, scrapeEngineLoad, registry, host, metrics);
    const topic = routedTopicForTier('M');
    const saturationOf = async () => (await metrics.poolSaturation.get()).values.find((v) => v.labels.tier === 'M')?.value;

    body = LLAMA_BUSY; // 2 processing (on 1 slot: occupancy capped at 1), 1 deferred
    await flow.tick();
    assert.equal(paused.get(topic), true, 'paused on the busy engine');
    // max(deferred 1 / queue threshold 5, slot occupancy 1 / KV threshold 0.8) = 1.25, capped at 1 for the pool.
    assert.equal(await saturationOf(), 1);

    body = LLAMA_IDLE;
    await flow.tick();
    assert.equal(paused.get(topic), false, 'resumed on the idle engine');
    assert.equal(await saturationOf(), 0);
    assert.equal((await metrics.scrapeErrors.get()).values.find((v) => v.labels.endpoint === url)?.value ?? 0, 0);
  });
});
