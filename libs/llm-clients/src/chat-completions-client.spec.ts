import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEngine, type EngineHandle } from '@llmgov/vllm-sim';
import { ChatCompletionsClient, chatCompletionsUrl, completionsUrl, type ChatCompletionRequest, type CompletionRequest } from './chat-completions-client.js';
import { LlmEndpointError, type LlmErrorSource } from './errors.js';

const CONTEXT =
  'The Amazon rainforest covers much of the Amazon basin of South America. ' +
  'The forest contains roughly 390 billion individual trees divided into 16,000 species.';

function req(endpoint: string, over: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest {
  return {
    endpoint,
    model: 'sim',
    messages: [
      { role: 'system', content: CONTEXT },
      { role: 'user', content: 'How many trees does the forest contain?' },
    ],
    max_tokens: 64,
    ...over,
  };
}

function isError(source: LlmErrorSource, retriable: boolean, status?: number) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof LlmEndpointError, `expected LlmEndpointError, got ${String(e)}`);
    assert.equal(e.source, source, e.message);
    assert.equal(e.retriable, retriable, e.message);
    if (status !== undefined) assert.equal(e.status, status);
    return true;
  };
}

/** A throwaway HTTP server for protocol edge cases the simulator never produces. */
async function withServer(handler: (req: IncomingMessage, res: ServerResponse) => void, fn: (base: string) => Promise<void>): Promise<void> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

describe('ChatCompletionsClient against vllm-sim', () => {
  let engine: EngineHandle;
  const client = new ChatCompletionsClient();
  before(async () => {
    engine = await startEngine({ models: ['sim'], prefillBaseMs: 30, prefillMsPerToken: 0, decodeBaseMs: 5, decodeMsPerSeq: 0 });
  });
  after(() => engine.close());

  it('streams a completion and measures TTFT, TPOT and e2e', async () => {
    const r = await client.complete(req(engine.url));
    assert.equal(r.text, 'The forest contains roughly 390 billion individual trees divided into 16,000 species.');
    assert.equal(r.finish_reason, 'stop');
    assert.equal(r.model, 'sim');
    assert.equal(r.endpoint, engine.url);
    assert.match(r.id ?? '', /^chatcmpl-/);
    assert.ok(r.usage.prompt_tokens > 20);
    assert.ok(r.usage.completion_tokens > 10);
    assert.equal(r.usage.estimated, undefined);
    // Relations only: the values themselves depend on the machine's speed (see the injected-clock spec below).
    assert.ok(r.timings.ttft_ms > 0 && r.timings.ttft_ms <= r.timings.e2e_ms, `ttft ${r.timings.ttft_ms}, e2e ${r.timings.e2e_ms}`);
    assert.ok(r.timings.tpot_ms > 0, `tpot ${r.timings.tpot_ms}`);
    assert.ok(Math.abs(r.timings.e2e_ms - (r.timings.ttft_ms + r.timings.tpot_ms * (r.usage.completion_tokens - 1))) < 1e-6);
  });

  it('measures TTFT at the first content chunk, e2e at the end of the stream and TPOT between them (injected clock)', async () => {
    let clock = 1_000;
    let push: (s: string) => void = () => undefined;
    let close: () => void = () => undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (s) => controller.enqueue(new TextEncoder().encode(s));
        close = () => controller.close();
      },
    });
    const fakeFetch = (async () => new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } })) as typeof fetch;
    const client = new ChatCompletionsClient({ fetch: fakeFetch, now: () => clock });
    const chunk = (content: string) => `data: ${JSON.stringify({ id: 'chatcmpl-1', model: 'm', choices: [{ index: 0, delta: { content } }] })}\n\n`;
    const pending = client.complete(req('http://engine.invalid'));
    // t0 is read when the request is sent (clock 1000); the reader takes each chunk as the clock says.
    await new Promise((r) => setImmediate(r));
    clock = 1_000 + 40; // role-only chunk: not a token
    push(`data: ${JSON.stringify({ id: 'chatcmpl-1', model: 'm', choices: [{ index: 0, delta: { role: 'assistant' } }] })}\n\n`);
    await new Promise((r) => setImmediate(r));
    clock = 1_000 + 50; // first token
    push(chunk('A'));
    await new Promise((r) => setImmediate(r));
    clock = 1_000 + 60;
    push(chunk('B'));
    await new Promise((r) => setImmediate(r));
    clock = 1_000 + 90; // last token, finish_reason, usage, [DONE]
    push(`data: ${JSON.stringify({ id: 'chatcmpl-1', model: 'm', choices: [{ index: 0, delta: { content: 'C' }, finish_reason: 'stop' }] })}\n\n`);
    push(`data: ${JSON.stringify({ id: 'chatcmpl-1', model: 'm', choices: [], usage: { prompt_tokens: 12, completion_tokens: 3 } })}\n\ndata: [DONE]\n\n`);
    close();
    const r = await pending;
    assert.equal(r.text, 'ABC');
    assert.deepEqual(r.timings, { ttft_ms: 50, tpot_ms: 20, e2e_ms: 90 }, 'tpot = (e2e - ttft) / (completion_tokens - 1)');
  });

  it('accepts base URLs with a trailing slash or /v1, and passes extra body fields', async () => {
    assert.equal(chatCompletionsUrl('http://h:1/v1/'), 'http://h:1/v1/chat/completions');
    assert.equal(chatCompletionsUrl('http://h:1/'), 'http://h:1/v1/chat/completions');
    const r = await client.complete(req(`${engine.url}/v1/`, { max_tokens: 7, extra: { ignore_eos: true }, temperature: 0 }));
    assert.equal(r.usage.completion_tokens, 7);
    assert.equal(r.finish_reason, 'length');
    assert.equal(r.timings.tpot_ms > 0, true);
  });

  it('unknown model → client error, not retriable, with status and code', async () => {
    await assert.rejects(client.complete(req(engine.url, { model: 'nope' })), (e: unknown) => {
      isError('client', false, 404)(e);
      assert.equal((e as LlmEndpointError).code, 'model_not_found');
      assert.match((e as Error).message, /nope/);
      return true;
    });
  });

  it('invalid request → client error (400), not retriable', async () => {
    await assert.rejects(client.complete(req(engine.url, { max_tokens: 0 })), isError('client', false, 400));
  });

  it('deadline passed → timeout without sending anything', async () => {
    const before = engine.stats().admitted;
    await assert.rejects(client.complete(req(engine.url, { deadlineMs: Date.now() - 5 })), isError('timeout', true));
    assert.equal(engine.stats().admitted, before);
  });

  it('caller cancellation → cancelled client error', async () => {
    const ac = new AbortController();
    const p = client.complete(req(engine.url, { signal: ac.signal, max_tokens: 500, extra: { ignore_eos: true } }));
    setImmediate(() => ac.abort());
    await assert.rejects(p, (e: unknown) => isError('client', false)(e) && (e as LlmEndpointError).cancelled);
  });
});

describe('ChatCompletionsClient on the completions API (prompt)', () => {
  let engine: EngineHandle;
  const client = new ChatCompletionsClient();
  before(async () => {
    engine = await startEngine({ models: ['sim'], prefillBaseMs: 0, prefillMsPerToken: 0, decodeBaseMs: 2, decodeMsPerSeq: 0 });
  });
  after(() => engine.close());

  const prompt = `Context: ${CONTEXT}\nQuestion: How many trees does the forest contain?\nAnswer:`;

  it('sends a prompt to /v1/completions and streams the choices[].text back with usage', async () => {
    assert.equal(completionsUrl('http://h:1/v1/'), 'http://h:1/v1/completions');
    assert.equal(completionsUrl('http://h:1'), 'http://h:1/v1/completions');
    const r = await client.complete({ endpoint: engine.url, model: 'sim', prompt, max_tokens: 64, temperature: 0 });
    assert.equal(r.text, 'The forest contains roughly 390 billion individual trees divided into 16,000 species.');
    assert.equal(r.finish_reason, 'stop');
    assert.match(r.id ?? '', /^cmpl-/, 'a text completion id, not a chat one');
    assert.ok(r.usage.prompt_tokens > 20 && !r.usage.estimated);
  });

  it('passes stop sequences: the engine ends the text before the first one', async () => {
    const r = await client.complete({ endpoint: engine.url, model: 'sim', prompt, max_tokens: 64, stop: [' billion', 'zzz'] });
    assert.equal(r.text, 'The forest contains roughly 390');
    assert.equal(r.finish_reason, 'stop');
  });

  it('puts exactly the fields of the API in the body (prompt and stop, or messages) at the right path', async () => {
    const seen: { url: string; body: Record<string, unknown> }[] = [];
    await withServer(
      (rq, res) => {
        let raw = '';
        rq.on('data', (c: Buffer) => (raw += c.toString('utf8')));
        rq.on('end', () => {
          seen.push({ url: rq.url ?? '', body: JSON.parse(raw) as Record<string, unknown> });
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end('data: {"choices":[{"index":0,"text":"Paris","finish_reason":"stop"}]}\n\ndata: [DONE]\n\n');
        });
      },
      async (base) => {
        const a = await client.complete({ endpoint: base, model: 'm', prompt: 'Q: capital of France?\nA:', stop: ['\n'], max_tokens: 5 });
        assert.equal(a.text, 'Paris');
        await client.complete({ endpoint: `${base}/v1`, model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
      },
    );
    assert.equal(seen[0]!.url, '/v1/completions');
    assert.equal(seen[0]!.body['prompt'], 'Q: capital of France?\nA:');
    assert.deepEqual(seen[0]!.body['stop'], ['\n']);
    assert.equal('messages' in seen[0]!.body, false);
    assert.equal(seen[1]!.url, '/v1/chat/completions');
    assert.deepEqual(seen[1]!.body['messages'], [{ role: 'user', content: 'hi' }]);
    assert.equal('prompt' in seen[1]!.body, false);
    assert.equal('stop' in seen[1]!.body, false, 'no stop field when none was given');
  });

  it('refuses malformed requests with a client error before sending anything', async () => {
    let sent = 0;
    const counting = new ChatCompletionsClient({
      fetch: (async () => {
        sent++;
        return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
      }) as typeof fetch,
    });
    const base = { endpoint: 'http://engine.invalid', model: 'm', max_tokens: 5 };
    const cases: [string, unknown, RegExp][] = [
      ['both', { ...base, prompt: 'x', messages: [{ role: 'user', content: 'y' }] }, /both messages .* and prompt/],
      ['neither', { ...base }, /neither messages .* nor prompt/],
      ['prompt not a string', { ...base, prompt: 42 }, /prompt must be a string/],
      ['empty messages', { ...base, messages: [] }, /non-empty array/],
      ['message without content', { ...base, messages: [{ role: 'user' }] }, /\{role: string, content: string\}/],
      ['stop not an array of strings', { ...base, prompt: 'x', stop: '\n' }, /stop must be an array of strings/],
    ];
    for (const [name, request, why] of cases) {
      await assert.rejects(counting.complete(request as CompletionRequest), (e: unknown) => {
        isError('client', false)(e);
        assert.match((e as Error).message, why, name);
        assert.equal((e as LlmEndpointError).endpoint, 'http://engine.invalid');
        return true;
      });
    }
    assert.equal(sent, 0, 'nothing reached the network');
  });
});

describe('ChatCompletionsClient error classification', () => {
  const client = new ChatCompletionsClient();

  it('503 queue full → engine, retriable, with Retry-After', async () => {
    const engine = await startEngine({ models: ['sim'], maxNumSeqs: 1, maxWaiting: 0, decodeBaseMs: 5, prefillBaseMs: 0 });
    try {
      const first = client.complete(req(engine.url, { max_tokens: 20, extra: { ignore_eos: true } }));
      await new Promise<void>((resolve) => {
        const check = (): void => (engine.stats().running === 1 ? resolve() : void setImmediate(check));
        check();
      });
      await assert.rejects(client.complete(req(engine.url)), (e: unknown) => {
        isError('engine', true, 503)(e);
        assert.equal((e as LlmEndpointError).retryAfterMs, 1000);
        assert.equal((e as LlmEndpointError).code, 'queue_full');
        return true;
      });
      assert.equal((await first).usage.completion_tokens, 20);
    } finally {
      await engine.close();
    }
  });

  it('injected 500 → engine retriable; 429 → rate_limit retriable', async () => {
    const engine = await startEngine({ models: ['sim'], failRate: 1, failStatus: 500 });
    try {
      await assert.rejects(client.complete(req(engine.url)), isError('engine', true, 500));
      engine.setFaults({ fail_status: 429 });
      await assert.rejects(client.complete(req(engine.url)), isError('rate_limit', true, 429));
    } finally {
      await engine.close();
    }
  });

  it('a hanging engine → timeout at the deadline', async () => {
    const engine = await startEngine({ models: ['sim'], hang: true });
    try {
      await assert.rejects(client.complete(req(engine.url, { deadlineMs: Date.now() + 150 })), isError('timeout', true));
      assert.equal(engine.stats().hung, 1, 'the engine held the request: the client gave up at its deadline');
    } finally {
      await engine.close();
    }
  });

  it('a deadline hit mid-stream → timeout, and the engine frees the sequence', async () => {
    const engine = await startEngine({ models: ['sim'], decodeBaseMs: 10, prefillBaseMs: 0 });
    try {
      await assert.rejects(
        client.complete(req(engine.url, { max_tokens: 1000, extra: { ignore_eos: true }, deadlineMs: Date.now() + 120 })),
        isError('timeout', true),
      );
      await new Promise<void>((resolve) => {
        const check = (): void => (engine.stats().aborted === 1 ? resolve() : void setImmediate(check));
        check();
      });
      assert.equal(engine.stats().running, 0);
    } finally {
      await engine.close();
    }
  });

  it('a stream cut mid-way (engine shut down) → network, retriable', async () => {
    const engine = await startEngine({ models: ['sim'], decodeBaseMs: 20 });
    const p = client.complete(req(engine.url, { max_tokens: 1000, extra: { ignore_eos: true } }));
    await new Promise<void>((resolve) => {
      const check = (): void => (engine.stats().running === 1 ? resolve() : void setImmediate(check));
      check();
    });
    await engine.close();
    await assert.rejects(p, isError('network', true));
  });

  it('connection refused → network, retriable', async () => {
    const engine = await startEngine({ models: ['sim'] });
    const url = engine.url;
    await engine.close();
    await assert.rejects(client.complete(req(url)), (e: unknown) => isError('network', true)(e) && /ECONNREFUSED/.test((e as Error).message));
  });

  it('invalid endpoint URL → client error', async () => {
    await assert.rejects(client.complete(req('not a url')), isError('client', false));
  });

  it('a mid-stream error event → engine error; malformed chunk → engine error', async () => {
    await withServer(
      (rq, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n');
        if (rq.url?.startsWith('/bad')) res.end('data: {not json\n\n');
        else res.end('data: {"error":{"message":"engine died","type":"server_error","code":500}}\n\n');
      },
      async (base) => {
        await assert.rejects(client.complete(req(base)), (e: unknown) => isError('engine', true, 500)(e) && /engine died/.test((e as Error).message));
        await assert.rejects(client.complete(req(`${base}/bad`)), isError('engine', true));
      },
    );
  });

  it('tolerates odd but valid streams: tiny chunks, no [DONE], no usage, role-only first chunk', async () => {
    const events = [
      'data: {"id":"x1","model":"served","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n',
      'data: {"choices":[{"index":0,"delta":{"content":"Gr"}}]}\r\n\r\n',
      ': comment\n\ndata: {"choices":[{"index":0,"delta":{"content":"üße 😀"}}]}\n\n',
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    ];
    const bytes = Buffer.from(events.join(''), 'utf8');
    await withServer(
      (_rq, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        let i = 0;
        const tick = (): void => {
          if (i >= bytes.length) return void res.end();
          res.write(bytes.subarray(i, i + 3)); // splits lines, CRLFs and UTF-8 sequences
          i += 3;
          setImmediate(tick);
        };
        tick();
      },
      async (base) => {
        const r = await client.complete(req(base));
        assert.equal(r.text, 'Grüße 😀');
        assert.equal(r.finish_reason, 'stop');
        assert.equal(r.model, 'served');
        assert.equal(r.id, 'x1');
        assert.deepEqual(r.usage, { prompt_tokens: 0, completion_tokens: 2, estimated: true });
      },
    );
  });

  it('a stream that ends without finish_reason → network, retriable', async () => {
    await withServer(
      (_rq, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end('data: {"choices":[{"index":0,"delta":{"content":"partial"}}]}\n\n');
      },
      async (base) => {
        await assert.rejects(client.complete(req(base)), isError('network', true));
      },
    );
  });

  it('a server that ignores stream:true and answers JSON is accepted', async () => {
    await withServer(
      (_rq, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'j',
            model: 'sim',
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
          }),
        );
      },
      async (base) => {
        const r = await client.complete(req(base));
        assert.equal(r.text, 'ok');
        assert.deepEqual(r.usage, { prompt_tokens: 5, completion_tokens: 1 });
        assert.equal(r.timings.ttft_ms, r.timings.e2e_ms);
      },
    );
  });

  it('408 → timeout retriable; a plain-text 502 keeps its body in the message', async () => {
    await withServer(
      (rq, res) => {
        if (rq.url?.startsWith('/slow')) res.writeHead(408).end();
        else res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway from proxy');
      },
      async (base) => {
        await assert.rejects(client.complete(req(`${base}/slow`)), isError('timeout', true, 408));
        await assert.rejects(
          client.complete(req(base)),
          (e: unknown) => isError('engine', true, 502)(e) && /bad gateway from proxy/.test((e as Error).message),
        );
      },
    );
  });
});
