import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VERSION_RE, collectionOf, embeddingPrice, parseEmbeddingModel, tenantAlias } from './reindex.js';
import { rateArg } from './commands/reindex.js';

const shipped = readFileSync(fileURLToPath(new URL('../../../../services/cost-attributor/price-catalog/v2.json', import.meta.url)), 'utf8');

describe('reindex helpers', () => {
  it('prices an embedding model from the shipped price catalog; self-hosted is unknown; a non-catalog is refused', () => {
    assert.deepEqual(embeddingPrice(shipped, 'all-MiniLM-L6-v2'), { usdPerMillionTokens: 0.02, source: 'price catalog 2026-11-v2, all-MiniLM-L6-v2' });
    assert.equal(embeddingPrice(shipped, 'some-unlisted-model').source, 'price catalog 2026-11-v2, default');
    assert.equal(embeddingPrice(shipped, 'gemma-3-270m').usdPerMillionTokens, null);
    assert.equal(embeddingPrice(shipped, '__proto__').source, 'price catalog 2026-11-v2, default', 'no prototype lookups');
    assert.throws(() => embeddingPrice('{"models": {}}', 'x'), /not a price catalog/);
  });

  it('parses --embedding-model: local, local:<dims>, or a named model that needs an endpoint', () => {
    const o = { dimensions: 384, chunkTokens: 128, chunkOverlap: 16 };
    assert.deepEqual(parseEmbeddingModel('local:256', o), {
      embeddings: 'local',
      embeddingsUrl: null,
      model: 'local-hashing-ngram',
      dimensions: 256,
      chunkTokens: 128,
      chunkOverlap: 16,
    });
    assert.equal(parseEmbeddingModel('local', o).dimensions, 384);
    assert.throws(() => parseEmbeddingModel('all-MiniLM-L6-v2', o), /--embeddings-url/);
    assert.equal(parseEmbeddingModel('all-MiniLM-L6-v2', { ...o, embeddingsUrl: 'http://x/v1' }).embeddings, 'openai');
    assert.throws(() => parseEmbeddingModel('local:0', o));
  });

  it('versions are v2 and up; a version names its own collection; the tenant alias is a valid name', () => {
    for (const v of ['v2', 'v9', 'v10', 'v123456']) assert.ok(VERSION_RE.test(v), v);
    for (const v of ['v1', 'v0', 'v02', '2', 'v2 ', 'v2;x', 'V2', 'v1234567']) assert.ok(!VERSION_RE.test(v), v);
    const spec = parseEmbeddingModel('local:256', { dimensions: 384, chunkTokens: 128, chunkOverlap: 16 });
    assert.match(collectionOf(spec, 'v2'), /^chunks_local-hashing-ngram-v1-[0-9a-f]{8}_256_v2$/);
    assert.notEqual(collectionOf(spec, 'v2'), collectionOf(spec, 'v3'));
    assert.equal(tenantAlias('tenant-a'), 'tenant_tenant-a');
  });

  it('--rate takes N/s or N, positive, at most 10000', () => {
    assert.equal(rateArg('20/s'), 20);
    assert.equal(rateArg('0.5'), 0.5);
    for (const bad of ['0', '0/s', '-1/s', 'fast', '20/m', '10001']) assert.throws(() => rateArg(bad), bad);
  });
});
