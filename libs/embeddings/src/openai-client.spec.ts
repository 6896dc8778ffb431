import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { EmbeddingsError } from './errors.js';
import { createEmbeddingsClient } from './factory.js';
import { OpenAIEmbeddingsClient } from './openai-client.js';

interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
  body: { model: string; input: string[]; dimensions?: number };
}

type Handler = (req: Seen, res: ServerResponse) => void;

/** A tiny OpenAI-compatible server whose behaviour each test sets. */
function okHandler(req: Seen, res: ServerResponse): void {
  // answer in reverse order to prove the client sorts by index
  const data = req.body.input.map((text, index) => ({ object: 'embedding', index, embedding: [text.length, index, 1] })).reverse();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ object: 'list', data, model: `${req.body.model}-served`, usage: { prompt_tokens: req.body.input.length * 2, total_tokens: 0 } }));
}

describe(OpenAIEmbeddingsClient.name, () => {
  let server: Server;
  let baseUrl: string;
  let handler: Handler = okHandler;
  const seen: Seen[] = [];

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const s: Seen = { url: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Seen['body'] };
        seen.push(s);
        handler(s, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    handler = okHandler;
    seen.length = 0;
  });

  it('posts {model, input} to /v1/embeddings and returns vectors in input order', async () => {
    const client = new OpenAIEmbeddingsClient({ baseUrl, model: 'bge-small', apiKey: 'sk-test' });
    const r = await client.embed(['a', 'bb', 'ccc']);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.url, '/v1/embeddings');
    assert.equal(seen[0]!.headers.authorization, 'Bearer sk-test');
    assert.deepEqual(seen[0]!.body, { model: 'bge-small', input: ['a', 'bb', 'ccc'] });
    assert.deepEqual(r.vectors, [
      [1, 0, 1],
      [2, 1, 1],
      [3, 2, 1],
    ]);
    assert.equal(r.model, 'bge-small-served');
    assert.equal(r.modelVersion, 'bge-small-served');
    assert.equal(r.dimensions, 3);
    assert.equal(r.usage.prompt_tokens, 6);
  });

  it('batches to maxBatchSize, sums usage, accepts a baseUrl ending in /v1, sends dimensions', async () => {
    const client = new OpenAIEmbeddingsClient({ baseUrl: `${baseUrl}/v1/`, model: 'm', maxBatchSize: 2, dimensions: 3, modelVersion: 'rev-7' });
    const r = await client.embed(['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(
      seen.map((s) => s.body.input),
      [['a', 'b'], ['c', 'd'], ['e']],
    );
    assert.ok(seen.every((s) => s.url === '/v1/embeddings' && s.body.dimensions === 3));
    assert.equal(r.vectors.length, 5);
    assert.deepEqual(r.vectors[4], [1, 0, 1]);
    assert.equal(r.usage.prompt_tokens, 10);
    assert.equal(r.modelVersion, 'rev-7');
  });

  it('sends nothing for an empty input', async () => {
    const r = await new OpenAIEmbeddingsClient({ baseUrl, model: 'm' }).embed([]);
    assert.equal(seen.length, 0);
    assert.deepEqual(r.vectors, []);
  });

  it('turns a 500 into a retriable EmbeddingsError with the status', async () => {
    handler = (_req, res) => {
      res.writeHead(500);
      res.end('engine exploded');
    };
    const err = await rejection(new OpenAIEmbeddingsClient({ baseUrl, model: 'm' }).embed(['x']));
    assert.equal(err.status, 500);
    assert.equal(err.retriable, true);
    assert.equal(err.code, 'http');
    assert.match(err.message, /engine exploded/);
  });

  it('treats 429 as retriable and reads Retry-After; 400 as final', async () => {
    handler = (_req, res) => {
      res.writeHead(429, { 'retry-after': '2' });
      res.end('{"error":"slow down"}');
    };
    const tooMany = await rejection(new OpenAIEmbeddingsClient({ baseUrl, model: 'm' }).embed(['x']));
    assert.equal(tooMany.retriable, true);
    assert.equal(tooMany.retryAfterMs, 2000);

    handler = (_req, res) => {
      res.writeHead(400);
      res.end('{"error":"input too long"}');
    };
    const bad = await rejection(new OpenAIEmbeddingsClient({ baseUrl, model: 'm' }).embed(['x']));
    assert.equal(bad.status, 400);
    assert.equal(bad.retriable, false);
  });

  it('times out with a retriable error, also when the body stalls after the headers', async () => {
    handler = () => {
      /* never answers */
    };
    const err = await rejection(new OpenAIEmbeddingsClient({ baseUrl, model: 'm', timeoutMs: 150 }).embed(['x']));
    assert.equal(err.code, 'timeout');
    assert.equal(err.retriable, true);

    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data": ['); // and then nothing
    };
    const stalled = await rejection(new OpenAIEmbeddingsClient({ baseUrl, model: 'm', timeoutMs: 150 }).embed(['x']));
    assert.equal(stalled.code, 'timeout');
  });

  it('reports malformed JSON as retriable, a wrong shape as final', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data": [ {"index": 0, "embe');
    };
    const truncated = await rejection(new OpenAIEmbeddingsClient({ baseUrl, model: 'm' }).embed(['x']));
    assert.equal(truncated.code, 'malformed_response');
    assert.equal(truncated.retriable, true);

    for (const body of [
      '[]',
      '{"data": []}',
      '{"data": [{"index": 0, "embedding": "AAAA"}]}',
      '{"data": [{"index": 5, "embedding": [1]}]}',
      '{"data": [{"index": 0, "embedding": [1, null]}]}',
    ]) {
      handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      };
      const err = await rejection(new OpenAIEmbeddingsClient({ baseUrl, model: 'm' }).embed(['x']));
      assert.equal(err.code, 'malformed_response', body);
      assert.equal(err.retriable, false, body);
    }
  });

  it('rejects vectors whose length differs from the requested dimensions', async () => {
    const err = await rejection(new OpenAIEmbeddingsClient({ baseUrl, model: 'm', dimensions: 8 }).embed(['x']));
    assert.equal(err.code, 'malformed_response');
  });

  it('reports refused connections as retriable network errors and honours a caller abort', async () => {
    const dead = new OpenAIEmbeddingsClient({ baseUrl: 'http://127.0.0.1:1', model: 'm' });
    const err = await rejection(dead.embed(['x']));
    assert.equal(err.code, 'network');
    assert.equal(err.retriable, true);

    handler = () => {
      /* never answers */
    };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const aborted = await rejection(new OpenAIEmbeddingsClient({ baseUrl, model: 'm' }).embed(['x'], { signal: controller.signal }));
    assert.equal(aborted.code, 'aborted');
    assert.equal(aborted.retriable, false);
  });

  it('is what createEmbeddingsClient returns for kind openai', async () => {
    const client = createEmbeddingsClient({ kind: 'openai', baseUrl, model: 'm' });
    assert.ok(client instanceof OpenAIEmbeddingsClient);
    assert.equal((await client.embed(['hey'])).vectors.length, 1);
  });
});

async function rejection(promise: Promise<unknown>): Promise<EmbeddingsError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof EmbeddingsError, `expected EmbeddingsError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}
