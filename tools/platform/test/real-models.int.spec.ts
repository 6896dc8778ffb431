/**
 * The platform on real models: the eight services with `engine: 'llama'`, i.e. llama.cpp engines (SmolLM2-135M-Instruct
 * for tier S over the chat API, Gemma 3 270M for M and L over the completions API) and the MiniLM embeddings server,
 * against the real local stack. Needs the model files of infra/local/models.sh (npm test installs them); without them
 * it fails, naming the fix.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { AvroSerde, createKafka } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { bearerJsonApi, jobInFinalState } from '@llmgov/testing';
import { LLAMA_MODELS, type RunningPlatform } from '../src/index.js';
import { bootAndStart, waitForUpserted } from './support/stack.js';

const KEY = 'test-key-real-models-0001';
const TENANT = `rm-${randomUUID().slice(0, 8)}`;
const run = randomUUID().slice(0, 8);

let platform: RunningPlatform;
let api: string;
let kafka: Kafka;
let serde: AvroSerde;

const http = bearerJsonApi(() => api, KEY);

interface JobView {
  status: string;
  result: { retrieved_document_ids: string[]; text: string; tier: string; model: string; prompt_tokens: number } | null;
  error: unknown;
}

const jobToFinal = (id: string): Promise<JobView> =>
  jobInFinalState(
    id,
    async () => (await (await http('GET', `/v1/jobs/${id}`)).json()) as JobView,
    // Real models on a busy 2-core machine: prompt processing of a few hundred tokens takes seconds.
    { timeoutMs: 240_000, intervalMs: 250 },
  );

before(
  async () => {
    const started = await bootAndStart({
      engine: 'llama',
      basePort: 18400,
      logName: 'test-real-models',
      env: { API_KEYS: `${TENANT}=${KEY}`, LOG_LEVEL: 'warn' },
    });
    platform = started.platform;
    const { config } = started;
    api = platform.services.get('ingest-validator')!.url;
    kafka = createKafka(`it-rm-${run}`, config.KAFKA_BROKERS, createLogger('it', 'error'));
    serde = new AvroSerde(new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }));
  },
  { timeout: 420_000 },
);

after(async () => {
  await platform?.stop();
});

describe('the platform on real models', { timeout: 600_000 }, () => {
  const lighthouse = `rm-${run}-lighthouse`;
  const volcano = `rm-${run}-volcano`;

  it('names the engines it runs: backend, model file and quantisation', () => {
    const byName = new Map(platform.engineSet.engines.map((e) => [e.name, e]));
    assert.deepEqual([...byName.keys()].sort(), ['embeddings', 'llama-m', 'llama-s']);
    assert.match(byName.get('llama-s')!.info.model_file ?? '', /SmolLM2-135M-Instruct\.Q4_1\.gguf$/);
    assert.match(byName.get('llama-m')!.info.model_file ?? '', /gemma-3-270m-q4_k_m\.gguf$/);
    assert.match(byName.get('llama-s')!.info.backend, /^llama\.cpp server \(xllamacpp \d/);
    assert.equal(byName.get('embeddings')!.info.quantization, 'int8');
  });

  it('indexes documents with real embeddings and answers from the retrieved one on tiers S and M', async () => {
    for (const [id, text] of [
      [lighthouse, 'The Zorbulon lighthouse was built in 1847 on the northern cape. It guided ships for a century before it closed.'],
      [volcano, 'The Quellmar volcano last erupted in 1921. The eruption covered the valley in ash and the village was abandoned.'],
    ] as const) {
      assert.equal((await http('POST', '/v1/documents', { document_id: id, text, title: 'real models' })).status, 202);
    }
    for (const id of [lighthouse, volcano]) await waitForUpserted(kafka, serde, id, 120_000);

    // min_quality 0.5 routes to tier S (SmolLM2, chat API); 0.75 to tier M (Gemma, completions API).
    const submit = async (prompt: string, minQuality: number) => {
      const res = await http('POST', '/v1/jobs', {
        prompt,
        budget: { latency_ms: 300_000, max_cost_usd: 0.05, min_quality: minQuality },
        options: { max_tokens: 24, temperature: 0, rag: true },
      });
      assert.equal(res.status, 202, await res.clone().text());
      return ((await res.json()) as { id: string }).id;
    };
    const jobS = await submit('When did the Quellmar volcano last erupt?', 0.5);
    const jobM = await submit('When was the Zorbulon lighthouse built?', 0.75);
    const [s, m] = await Promise.all([jobToFinal(jobS), jobToFinal(jobM)]);

    assert.equal(s.status, 'completed', JSON.stringify(s.error));
    assert.equal(s.result?.tier, 'S');
    assert.equal(s.result?.model, LLAMA_MODELS.S);
    assert.equal(s.result?.retrieved_document_ids[0], volcano);
    assert.ok((s.result?.prompt_tokens ?? 0) > 20, 'the engine counted the prompt with its context');
    assert.ok((s.result?.text ?? '').trim().length > 0);

    assert.equal(m.status, 'completed', JSON.stringify(m.error));
    assert.equal(m.result?.tier, 'M');
    assert.equal(m.result?.model, LLAMA_MODELS.M);
    assert.equal(m.result?.retrieved_document_ids[0], lighthouse);
    // Gemma 3 270M reads the year off the retrieved context (greedy decoding).
    assert.match(m.result?.text ?? '', /1847/);
    assert.ok(!(m.result?.text ?? '').includes('\n'), 'the completions template stops at the end of the line');
  });
});
