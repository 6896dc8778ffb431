import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddingsError, OpenAIEmbeddingsClient } from '@llmgov/embeddings';
import { parsePrometheusText } from '@llmgov/llm-clients';
import { defaultModelDir, loadEmbeddingModel, missingModelFiles } from '../src/model.js';
import { startEmbeddingsServer, type EmbeddingsServerHandle } from '../src/server.js';

// The real model: all-MiniLM-L6-v2 int8 from infra/local/models.sh. Without its files there is nothing real to
// start, so the suite skips and says why; with them every assertion runs.
const modelDir = defaultModelDir();
const missing = missingModelFiles(modelDir);
const skip = missing.length > 0 ? `model files missing in ${modelDir} (${missing.join(', ')}); run infra/local/models.sh outside the network namespace` : false;

type Vec = ArrayLike<number>;
const dot = (a: Vec, b: Vec): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

describe('embeddings-server with all-MiniLM-L6-v2 through the production OpenAIEmbeddingsClient', { skip }, () => {
  let server: EmbeddingsServerHandle;
  before(async () => {
    const model = await loadEmbeddingModel({ modelDir });
    server = await startEmbeddingsServer(model, { port: 0, maxBatchSize: 4, aliases: ['minilm'] });
  });
  after(() => server?.close());

  it('embeds into unit-length 384-dimension vectors where paraphrases are closer than unrelated sentences', async () => {
    const client = new OpenAIEmbeddingsClient({ baseUrl: `${server.url}/v1`, model: 'all-MiniLM-L6-v2', maxBatchSize: 2 });
    const texts = [
      'The Eiffel Tower was built for the 1889 World Fair in Paris.',
      "Paris's iron tower was erected for the Exposition Universelle of 1889.",
      'Photosynthesis converts light energy into chemical energy in plants.',
      'The central bank raised interest rates by a quarter point.',
      'How do plants turn sunlight into food?',
    ];
    const r = await client.embed(texts);
    assert.equal(r.model, 'all-MiniLM-L6-v2');
    assert.equal(r.dimensions, 384);
    assert.equal(r.vectors.length, texts.length);
    for (const v of r.vectors) assert.ok(Math.abs(Math.sqrt(dot(v, v)) - 1) < 1e-4, 'unit length');
    const [tower1, tower2, photo, bank, plantsQ] = r.vectors as [number[], number[], number[], number[], number[]];
    assert.ok(dot(tower1, tower2) > dot(tower1, photo) + 0.2, `paraphrase ${dot(tower1, tower2)} vs unrelated ${dot(tower1, photo)}`);
    assert.ok(dot(tower1, tower2) > dot(tower1, bank) + 0.2);
    assert.ok(dot(plantsQ, photo) > dot(plantsQ, bank) + 0.2, 'a question is closest to the passage that answers it');
    assert.ok(r.usage.prompt_tokens > texts.length * 5, `usage.prompt_tokens ${r.usage.prompt_tokens}`);
  });

  it('gives the same vector for a text alone and inside a batch (padding does not leak into the mean)', async () => {
    const client = new OpenAIEmbeddingsClient({ baseUrl: server.url, model: 'minilm' });
    const text = 'Kafka consumer groups commit offsets per partition.';
    const [alone] = (await client.embed([text])).vectors as [number[]];
    const batch = (await client.embed(['short', text, 'a much longer sentence than the others, to force padding of the rest of the batch'])).vectors;
    assert.ok(dot(alone, batch[1]!) > 0.9999, String(dot(alone, batch[1]!)));
  });

  it('shares forward passes between concurrent requests and keeps each answer with its request', async () => {
    const client = new OpenAIEmbeddingsClient({ baseUrl: server.url, model: 'all-MiniLM-L6-v2' });
    const texts = Array.from({ length: 12 }, (_, i) => `Request number ${i} asks about topic ${i % 3 === 0 ? 'rivers' : i % 3 === 1 ? 'taxes' : 'violins'}.`);
    const alone = await client.embed(texts);
    const concurrent = await Promise.all(texts.map((t) => client.embed([t])));
    concurrent.forEach((r, i) => assert.ok(dot(r.vectors[0]!, alone.vectors[i]!) > 0.9999, `request ${i} got its own vector`));
    const samples = parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text());
    const value = (name: string): number => samples.find((s) => s.name === name)?.value ?? NaN;
    assert.equal(value('embeddings_server_batch_size_sum'), value('embeddings_server_inputs_total'), 'every embedded text went through exactly one pass');
    assert.ok(value('embeddings_server_batch_size_count') >= Math.ceil(value('embeddings_server_inputs_total') / 4), 'no pass exceeded maxBatchSize 4');
  });

  it('truncates long inputs to 256 tokens and counts the tokens the model saw', async () => {
    const res = await fetch(`${server.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'word '.repeat(2000), model: 'all-MiniLM-L6-v2' }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { usage: { prompt_tokens: number } };
    assert.equal(body.usage.prompt_tokens, 256);
  });

  it('answers bad input with a non-retriable 4xx the client reports', async () => {
    const client = new OpenAIEmbeddingsClient({ baseUrl: server.url, model: 'all-MiniLM-L6-v2' });
    await assert.rejects(
      client.embed(['fine', '']),
      (e: unknown) => e instanceof EmbeddingsError && e.status === 400 && !e.retriable && /input\[1\] is an empty string/.test(e.message),
    );
    const wrongModel = new OpenAIEmbeddingsClient({ baseUrl: server.url, model: 'text-embedding-3-small' });
    await assert.rejects(wrongModel.embed(['x']), (e: unknown) => e instanceof EmbeddingsError && e.status === 404 && !e.retriable);
    const wrongDims = new OpenAIEmbeddingsClient({ baseUrl: server.url, model: 'all-MiniLM-L6-v2', dimensions: 256 });
    await assert.rejects(wrongDims.embed(['x']), (e: unknown) => e instanceof EmbeddingsError && e.status === 400 && /not a Matryoshka/.test(e.message));
    const raw = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input": [1, 2, 3]}' });
    assert.equal(raw.status, 400);
    assert.match(((await raw.json()) as { error: { message: string } }).error.message, /token-id inputs are not supported/);
  });
});
