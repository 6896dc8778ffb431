import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChatCompletionsClient, scrapeEngineMetrics } from '@llmgov/llm-clients';
import { eventually } from '@llmgov/testing';
import { localModels, startLlamaEngine, type LlamaEngineHandle } from '../src/engine.js';

// Real engines from infra/local/models.sh. Without them there is nothing real to start: the suite skips and says why.
const found = localModels();
const skip = found.missing ?? false;

describe('a real llama.cpp engine (SmolLM2-135M-Instruct, one slot)', { skip }, () => {
  let engine: LlamaEngineHandle;
  const client = new ChatCompletionsClient({ defaultTimeoutMs: 600_000 });
  before(async () => {
    engine = await startLlamaEngine({ model: found.models!.smollm2Gguf, parallel: 1, ctxSize: 2048, alias: 'smollm2-135m-instruct' });
  });
  after(() => engine?.close());

  it('answers a streamed chat completion with usage and a finish_reason', async () => {
    const r = await client.complete({
      endpoint: engine.url,
      model: engine.model,
      messages: [{ role: 'user', content: 'Name one colour of the rainbow.' }],
      max_tokens: 12,
      temperature: 0,
    });
    assert.equal(engine.model, 'smollm2-135m-instruct');
    assert.ok(r.text.trim().length > 0, 'some text came back');
    assert.ok(['stop', 'length'].includes(r.finish_reason), r.finish_reason);
    assert.ok(r.usage.prompt_tokens > 5 && !r.usage.estimated, JSON.stringify(r.usage));
    assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 12);
  });

  it('reports one request in the slot and one deferred through the llama.cpp metrics dialect, then idle', async () => {
    const idle = await scrapeEngineMetrics(engine.url);
    assert.deepEqual({ ...idle, scrapedAt: 0 }, { running: 0, waiting: 0, kvCacheUsage: 0, scrapedAt: 0, dialect: 'llamacpp' });
    const ask = (n: number) =>
      client.complete({
        endpoint: engine.url,
        model: engine.model,
        messages: [{ role: 'user', content: `Count from ${n} upwards.` }],
        max_tokens: 24,
        extra: { ignore_eos: true },
      });
    const both = Promise.all([ask(1), ask(100)]);
    const busy = await eventually(
      'one request running and one deferred',
      async () => {
        const load = await scrapeEngineMetrics(engine.url, { totalSlots: engine.parallel });
        return load.running === 1 && load.waiting === 1 ? load : undefined;
      },
      { timeoutMs: 120_000 },
    );
    assert.equal(busy.kvCacheUsage, 1, 'the only slot is taken');
    assert.equal(busy.dialect, 'llamacpp');
    const results = await both;
    assert.deepEqual(
      results.map((r) => r.usage.completion_tokens),
      [24, 24],
    );
    const after = await scrapeEngineMetrics(engine.url);
    assert.deepEqual([after.running, after.waiting, after.kvCacheUsage], [0, 0, 0]);
  });
});
