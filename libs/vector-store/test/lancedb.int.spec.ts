import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { LanceDbVectorStore } from '../src/index.js';
import { makePoint, makeQuery, runVectorStoreContract } from './contract.js';

const dir = await mkdtemp(join(tmpdir(), 'llmgov-lancedb-contract-'));

runVectorStoreContract('LanceDB', {
  open: async () => new LanceDbVectorStore({ dir }),
  cleanup: async () => rm(dir, { recursive: true, force: true }),
});

describe('LanceDB across processes', () => {
  const shared = join(tmpdir(), `llmgov-lancedb-xproc-${process.pid}`);
  after(async () => rm(shared, { recursive: true, force: true }));

  it('a long-lived reader sees what another process writes, without reopening', async () => {
    const reader = new LanceDbVectorStore({ dir: shared });
    try {
      await reader.ensureCollection('chunks_v1', { dimensions: 384 });
      await reader.upsert('chunks_v1', [makePoint('acme', 'seed', 'seed#0', 'seed chunk about harbours')]);
      assert.equal(await reader.count('chunks_v1'), 1);

      const writer = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'lancedb-writer.js');
      for (let round = 1; round <= 2; round++) {
        const { stdout } = await promisify(execFile)(process.execPath, [writer, shared, 'chunks_v1', 'acme', String(round)]);
        assert.match(stdout, /wrote 20/);
        assert.equal(await reader.count('chunks_v1', 'acme'), 1 + 20 * round);
        const hits = await reader.search('chunks_v1', makeQuery('acme', `lighthouse round${round} keeper7`, 'hybrid', 3));
        assert.equal(hits[0]?.chunkId, `r${round}-7#0`);
        const lexical = await reader.search('chunks_v1', makeQuery('acme', `round${round} keeper7`, 'sparse', 3));
        assert.equal(lexical[0]?.chunkId, `r${round}-7#0`);
      }
      // the writer process also switched the alias: the reader follows it on its next call
      const viaAlias = await reader.search('chunks', makeQuery('acme', 'harbours', 'dense', 50));
      assert.equal(viaAlias.length, 41);
    } finally {
      await reader.close();
    }
  });
});
