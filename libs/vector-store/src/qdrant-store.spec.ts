import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { VectorStoreError } from './errors.js';
import { pointId } from './point-id.js';
import { QdrantVectorStore } from './qdrant-store.js';

interface Call {
  method: string;
  path: string;
  body: unknown;
}

/**
 * Wire-format checks against a stub HTTP server that records requests and answers like Qdrant.
 * This is NOT a Qdrant: behaviour is covered by the contract suite (test/qdrant.int.spec.ts) when
 * QDRANT_URL points at a real server. These specs pin the request shapes the adapter sends.
 */
describe(`${QdrantVectorStore.name} (request shapes, stub server)`, () => {
  let server: Server;
  let url: string;
  const calls: Call[] = [];
  let respond: (call: Call) => { status: number; result: unknown } = () => ({ status: 200, result: true });

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const call: Call = { method: req.method ?? '', path: req.url ?? '', body: raw ? (JSON.parse(raw) as unknown) : undefined };
        calls.push(call);
        const { status, result } = respond(call);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(status === 200 ? { result, status: 'ok', time: 0 } : { status: { error: 'stub error' }, time: 0 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    calls.length = 0;
  });

  it('creates a collection with named dense (cosine) and sparse (idf) vectors and a tenant index', async () => {
    let created = false;
    respond = (call) => {
      if (call.path === '/aliases') return { status: 200, result: { aliases: [] } };
      if (call.path.endsWith('/exists')) return { status: 200, result: { exists: created } };
      if (call.method === 'PUT' && call.path === '/collections/chunks_v1') {
        created = true;
        return { status: 200, result: true };
      }
      if (call.method === 'GET' && call.path === '/collections/chunks_v1') {
        return { status: 200, result: { config: { params: { vectors: { dense: { size: 4, distance: 'Cosine' } } } }, payload_schema: {} } };
      }
      return { status: 200, result: { operation_id: 1, status: 'completed' } };
    };
    await new QdrantVectorStore({ url }).ensureCollection('chunks_v1', { dimensions: 4 });
    const create = calls.find((c) => c.method === 'PUT' && c.path === '/collections/chunks_v1');
    assert.deepEqual(create?.body, {
      vectors: { dense: { size: 4, distance: 'Cosine' } },
      sparse_vectors: { sparse: { modifier: 'idf' } },
    });
    const indexes = calls.filter((c) => c.path.startsWith('/collections/chunks_v1/index')).map((c) => c.body);
    assert.deepEqual(indexes, [
      { field_name: 'tenantId', field_schema: { type: 'keyword', is_tenant: true } },
      { field_name: 'documentId', field_schema: 'keyword' },
    ]);
  });

  it('upserts named vectors and payload, waiting for the write', async () => {
    respond = () => ({ status: 200, result: { operation_id: 2, status: 'completed' } });
    const id = pointId('acme', 'c1');
    await new QdrantVectorStore({ url }).upsert('chunks', [
      {
        id,
        tenantId: 'acme',
        documentId: 'd1',
        chunkId: 'c1',
        text: 'hello',
        dense: [0.1, 0.2],
        sparse: { indices: [3, 9], values: [1.2, 0.4] },
        contentHash: 'h',
        embeddingModel: 'm@v1',
      },
    ]);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.method, 'PUT');
    assert.equal(calls[0]!.path, '/collections/chunks/points?wait=true');
    assert.deepEqual(calls[0]!.body, {
      points: [
        {
          id,
          vector: { dense: [0.1, 0.2], sparse: { indices: [3, 9], values: [1.2, 0.4] } },
          payload: { tenantId: 'acme', documentId: 'd1', chunkId: 'c1', text: 'hello', contentHash: 'h', embeddingModel: 'm@v1' },
        },
      ],
    });
  });

  it('hybrid: two tenant-filtered prefetches fused with RRF, filter repeated on the fused query', async () => {
    respond = () => ({ status: 200, result: { points: [{ id: 'p1', version: 1, score: 0.5, payload: { chunkId: 'c1', documentId: 'd1', text: 'hello' } }] } });
    const hits = await new QdrantVectorStore({ url }).search('chunks', {
      tenantId: "x' OR '1'='1",
      dense: [0.1, 0.2],
      sparse: { indices: [3], values: [1] },
      k: 5,
      mode: 'hybrid',
    });
    assert.deepEqual(hits, [{ id: 'p1', chunkId: 'c1', documentId: 'd1', text: 'hello', score: 0.5 }]);
    const filter = { must: [{ key: 'tenantId', match: { value: "x' OR '1'='1" } }] };
    assert.equal(calls[0]!.path, '/collections/chunks/points/query');
    assert.deepEqual(calls[0]!.body, {
      prefetch: [
        { query: [0.1, 0.2], using: 'dense', filter, limit: 50 },
        { query: { indices: [3], values: [1] }, using: 'sparse', filter, limit: 50 },
      ],
      query: { fusion: 'rrf' },
      filter,
      limit: 5,
      with_payload: { include: ['chunkId', 'documentId', 'text'] },
    });
  });

  it('dense and sparse modes query one named vector with the tenant filter; rrfK selects parameterised RRF', async () => {
    respond = () => ({ status: 200, result: { points: [] } });
    const store = new QdrantVectorStore({ url, rrfK: 61 });
    const base = { tenantId: 't', dense: [1, 0], sparse: { indices: [1], values: [1] }, k: 3 };
    await store.search('c', { ...base, mode: 'dense' });
    await store.search('c', { ...base, mode: 'sparse' });
    await store.search('c', { ...base, mode: 'hybrid' });
    const bodies = calls.map((c) => c.body as Record<string, unknown>);
    assert.equal(bodies[0]!['using'], 'dense');
    assert.equal(bodies[1]!['using'], 'sparse');
    assert.deepEqual(bodies[1]!['query'], { indices: [1], values: [1] });
    assert.deepEqual(bodies[2]!['query'], { rrf: { k: 61 } });
    for (const b of bodies) assert.deepEqual(b['filter'], { must: [{ key: 'tenantId', match: { value: 't' } }] });
    await assert.rejects(store.search('c', { tenantId: 't', dense: [1, 0], k: 3, mode: 'sparse' }), /needs q.sparse/);
  });

  it('deletes by tenant+document filter and reports the count taken before', async () => {
    respond = (call) =>
      call.path.includes('/count') ? { status: 200, result: { count: 3 } } : { status: 200, result: { operation_id: 3, status: 'completed' } };
    const n = await new QdrantVectorStore({ url }).deleteByDocument('c', 'acme', 'd1');
    assert.equal(n, 3);
    const filter = {
      must: [
        { key: 'tenantId', match: { value: 'acme' } },
        { key: 'documentId', match: { value: 'd1' } },
      ],
    };
    assert.deepEqual(calls[0]!.body, { filter, exact: true });
    assert.equal(calls[1]!.path, '/collections/c/points/delete?wait=true');
    assert.deepEqual(calls[1]!.body, { filter });
  });

  it('moves an alias atomically in one update_aliases request', async () => {
    respond = (call) => {
      if (call.path.endsWith('/exists')) return { status: 200, result: { exists: true } };
      if (call.path === '/aliases') return { status: 200, result: { aliases: [{ alias_name: 'chunks', collection_name: 'chunks_v1' }] } };
      return { status: 200, result: true };
    };
    await new QdrantVectorStore({ url }).setAlias('chunks', 'chunks_v2');
    const update = calls.find((c) => c.path === '/collections/aliases');
    assert.deepEqual(update?.body, {
      actions: [{ delete_alias: { alias_name: 'chunks' } }, { create_alias: { collection_name: 'chunks_v2', alias_name: 'chunks' } }],
    });
  });

  it('maps HTTP failures onto VectorStoreError codes', async () => {
    const cases: [number, VectorStoreError['code'], boolean][] = [
      [500, 'unavailable', true],
      [503, 'unavailable', true],
      [404, 'not_found', false],
      [400, 'invalid_argument', false],
    ];
    for (const [status, code, retriable] of cases) {
      respond = () => ({ status, result: null });
      await assert.rejects(new QdrantVectorStore({ url }).count('c'), (err: unknown) => {
        assert.ok(err instanceof VectorStoreError);
        assert.equal(err.code, code, `HTTP ${status}`);
        assert.equal(err.retriable, retriable);
        return true;
      });
    }
    await assert.rejects(new QdrantVectorStore({ url: 'http://127.0.0.1:1', timeoutMs: 2000 }).count('c'), (err: unknown) => {
      assert.ok(err instanceof VectorStoreError);
      assert.equal(err.code, 'unavailable');
      return true;
    });
  });
});
