import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DelayedVectorStore } from './fault-delay.js';
import type { SearchQuery, VectorStore } from './types.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vs-delay-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const q: SearchQuery = { tenantId: 't', dense: [1, 0], k: 3, mode: 'dense' };

function fakeStore(calls: string[]): VectorStore {
  return {
    ensureCollection: async () => void calls.push('ensure'),
    upsert: async () => void calls.push('upsert'),
    deleteByDocument: async () => (calls.push('delete'), 0),
    search: async () => (calls.push('search'), [{ id: 'p', chunkId: 'c', documentId: 'd', text: 'x', score: 1 }]),
    count: async () => (calls.push('count'), 7),
    setAlias: async () => void calls.push('alias'),
    resolveAlias: async () => (calls.push('resolveAlias'), undefined),
    listCollections: async () => (calls.push('listCollections'), []),
    close: async () => void calls.push('close'),
  };
}

describe(DelayedVectorStore.name, () => {
  it('delays search and upsert by the ms in the file, re-read after refreshMs, and passes results through', async () => {
    const file = path.join(dir, 'delay');
    let clock = 0;
    const slept: number[] = [];
    const calls: string[] = [];
    const store = new DelayedVectorStore(fakeStore(calls), { file, refreshMs: 100, now: () => clock, sleep: async (ms) => void slept.push(ms) });
    assert.equal((await store.search('c', q)).length, 1, 'no file: no delay');
    assert.deepEqual(slept, []);
    await writeFile(file, '500\n');
    await store.search('c', q);
    assert.deepEqual(slept, [], 'the cached value holds until refreshMs has passed');
    clock = 100;
    await store.search('c', q);
    await store.upsert('c', []);
    assert.deepEqual(slept, [500, 500]);
    assert.equal(await store.count('c'), 7);
    await writeFile(file, 'not a number');
    clock = 200;
    await store.search('c', q);
    assert.deepEqual(slept, [500, 500], 'an invalid file means no delay');
    assert.deepEqual(calls, ['search', 'search', 'search', 'upsert', 'count', 'search']);
  });
});
