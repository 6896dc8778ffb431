import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from '@lancedb/lancedb';
import { LanceDbVectorStore } from './lancedb-store.js';
import { pointId } from './point-id.js';
import type { ChunkPoint } from './types.js';

const DIMS = 8;

/** Tiny deterministic vectors: the tests here are about the lexical leg and bookkeeping. */
function point(tenantId: string, documentId: string, chunkId: string, text: string): ChunkPoint {
  const dense = Array.from({ length: DIMS }, (_, i) => ((text.charCodeAt(i % text.length) % 7) + 1) / 10);
  return { id: pointId(tenantId, chunkId), tenantId, documentId, chunkId, text, dense, contentHash: 'h', embeddingModel: 'test' };
}

async function ftsStats(dir: string, table: string): Promise<{ indexed: number; unindexed: number }> {
  const db = await connect(dir);
  const t = await db.openTable(table);
  const name = (await t.listIndices()).find((i) => i.columns[0] === 'text')!.name;
  const stats = await t.indexStats(name);
  t.close();
  db.close();
  return { indexed: stats?.numIndexedRows ?? -1, unindexed: stats?.numUnindexedRows ?? -1 };
}

describe(LanceDbVectorStore.name, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llmgov-lancedb-unit-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('full-text search is correct right after upserts, before the FTS index catches up', async () => {
    const store = new LanceDbVectorStore({ dir, optimizeEveryWrites: 0, optimizeEveryRows: 0 });
    try {
      await store.ensureCollection('fresh', { dimensions: DIMS });
      await store.upsert('fresh', [point('t', 'd1', 'c1', 'the aurora borealis glows green'), point('t', 'd2', 'c2', 'volcanic ash grounded flights')]);
      // rows written after index creation are not in the index yet …
      assert.deepEqual(await ftsStats(dir, 'fresh'), { indexed: 0, unindexed: 2 });
      // … but LanceDB scans unindexed fragments, so the lexical leg still finds them
      let hits = await store.search('fresh', { tenantId: 't', text: 'aurora', dense: [], k: 5, mode: 'sparse' });
      assert.deepEqual(
        hits.map((h) => h.chunkId),
        ['c1'],
      );

      await store.optimize('fresh');
      assert.deepEqual(await ftsStats(dir, 'fresh'), { indexed: 2, unindexed: 0 });

      // an update of an indexed row: the old term stops matching, the new one matches at once
      await store.upsert('fresh', [point('t', 'd1', 'c1', 'the midnight sun never sets')]);
      assert.deepEqual(await store.search('fresh', { tenantId: 't', text: 'aurora', dense: [], k: 5, mode: 'sparse' }), []);
      hits = await store.search('fresh', { tenantId: 't', text: 'midnight sun', dense: [], k: 5, mode: 'sparse' });
      assert.deepEqual(
        hits.map((h) => h.chunkId),
        ['c1'],
      );
      // a delete of an indexed row disappears from full-text results at once
      assert.equal(await store.deleteByDocument('fresh', 't', 'd2'), 1);
      assert.deepEqual(await store.search('fresh', { tenantId: 't', text: 'volcanic', dense: [], k: 5, mode: 'sparse' }), []);
    } finally {
      await store.close();
    }
  });

  it('optimises in the background after N writes and close() waits for it', async () => {
    const store = new LanceDbVectorStore({ dir, optimizeEveryWrites: 3, optimizeEveryRows: 0 });
    await store.ensureCollection('auto', { dimensions: DIMS });
    for (let i = 0; i < 3; i++) await store.upsert('auto', [point('t', `d${i}`, `c${i}`, `chunk number ${i} about glaciers`)]);
    await store.close();
    assert.deepEqual(await ftsStats(dir, 'auto'), { indexed: 3, unindexed: 0 });
  });

  it('two instances upserting the same ids concurrently leave one row per id', async () => {
    const a = new LanceDbVectorStore({ dir });
    const b = new LanceDbVectorStore({ dir });
    try {
      await a.ensureCollection('race', { dimensions: DIMS });
      const batch = (tag: string): ChunkPoint[] => Array.from({ length: 50 }, (_, i) => point('t', `d${i}`, `c${i}`, `${tag} text ${i}`));
      await Promise.all([a.upsert('race', batch('from-a')), b.upsert('race', batch('from-b')), a.upsert('race', batch('again-a'))]);
      assert.equal(await a.count('race'), 50);
      assert.equal(await b.count('race', 't'), 50);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('validates queries and names, and keeps aliases in a JSON file', async () => {
    const store = new LanceDbVectorStore({ dir });
    try {
      await store.ensureCollection('named_v1', { dimensions: DIMS });
      await assert.rejects(store.search('named_v1', { tenantId: 't', dense: new Array<number>(DIMS).fill(0.1), k: 3, mode: 'hybrid' }), /needs q.text/);
      await assert.rejects(store.search('named_v1', { tenantId: 't', dense: [1, 2], k: 3, mode: 'dense' }), /dimensions/);
      await assert.rejects(store.ensureCollection('../escape', { dimensions: DIMS }), /invalid collection name/);
      await assert.rejects(store.ensureCollection("x' OR 1=1", { dimensions: DIMS }), /invalid collection name/);
      await store.setAlias('named', 'named_v1');
      assert.deepEqual(JSON.parse(await readFile(join(dir, '_aliases.json'), 'utf8')), { named: 'named_v1' });
      assert.equal(await store.resolve('named'), 'named_v1');
      await assert.rejects(store.setAlias('named_v1', 'named_v1'), /is a collection/);
      assert.deepEqual(await store.search('named', { tenantId: 't', text: '', dense: new Array<number>(DIMS).fill(0.1), k: 3, mode: 'sparse' }), []);
    } finally {
      await store.close();
    }
    await assert.rejects(store.count('named_v1'), /closed/);
  });
  it('hybrid fusion follows the rrfK and hybridWeights options, and rejects bad ones', async () => {
    // Query vector e1 and text "zeta". Dense list: A (cosine 1), then B (cosine 0.71); lexical list: B only.
    // Weighted RRF with dense 3, lexical 1: A = 3/(k+1), B = 3/(k+2) + 1/(k+1), so B - A = (k-1)/((k+1)(k+2)):
    // B first at k = 60, A first at k = 0.
    const e = (i: number, j?: number): number[] => Array.from({ length: DIMS }, (_, d) => (d === i || d === j ? 1 : 0));
    const pts: ChunkPoint[] = [
      { ...point('t', 'dA', 'A', 'alpha only'), dense: e(0) },
      { ...point('t', 'dB', 'B', 'zeta and more'), dense: e(0, 1) },
    ];
    const setup = new LanceDbVectorStore({ dir });
    await setup.ensureCollection('fusion', { dimensions: DIMS });
    await setup.upsert('fusion', pts);
    await setup.close();
    const order = async (options: { rrfK?: number; hybridWeights?: { dense: number; lexical: number } }): Promise<string[]> => {
      const store = new LanceDbVectorStore({ dir, ...options });
      try {
        return (await store.search('fusion', { tenantId: 't', dense: e(0), text: 'zeta', k: 2, mode: 'hybrid' })).map((h) => h.chunkId);
      } finally {
        await store.close();
      }
    };
    assert.deepEqual(await order({}), ['B', 'A'], 'defaults: B is in both lists');
    assert.deepEqual(await order({ rrfK: 60, hybridWeights: { dense: 1, lexical: 1 } }), ['B', 'A'], 'plain RRF');
    assert.deepEqual(await order({ hybridWeights: { dense: 3, lexical: 1 }, rrfK: 60 }), ['B', 'A']);
    assert.deepEqual(await order({ hybridWeights: { dense: 3, lexical: 1 }, rrfK: 0 }), ['A', 'B']);
    assert.deepEqual(await order({ hybridWeights: { dense: 1, lexical: 0 } }), ['A', 'B'], 'lexical weight 0: dense order');
    assert.throws(() => new LanceDbVectorStore({ dir, rrfK: -1 }), /rrfK/);
    assert.throws(() => new LanceDbVectorStore({ dir, hybridWeights: { dense: 0, lexical: 0 } }), /hybridWeights/);
    assert.throws(() => new LanceDbVectorStore({ dir, hybridWeights: { dense: Number.NaN, lexical: 1 } }), /hybridWeights/);
  });
});
