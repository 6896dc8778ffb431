/**
 * `runReindex` / `rollbackReindex` against the real Postgres (source of record, index_versions), LanceDB (a temporary
 * folder) and Redis (semantic cache): a tenant's corpus is re-embedded into a new version with another hashing-embedder
 * configuration (another embedding space), verified by chunk counts, swapped by the tenant's alias with the cached
 * answers dropped, and rolled back. No live load here (issue 12's done-when test under load is not written yet).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chunkText, HashingEmbedder } from '@llmgov/embeddings';
import { createPgPool, createRedis, migrate, RedisSemanticCache, semanticScopeKey, type Pool, type Redis } from '@llmgov/persistence';
import { vectorStoreFromSettings, type VectorStore } from '@llmgov/vector-store';
import { activeVersion, parseEmbeddingModel, planReindex, registerBaseline, rollbackReindex, runReindex, tenantAlias } from '../src/reindex.js';
import { runCli } from './support.js';

const run = randomUUID().slice(0, 8);
const tenant = `rx-${run}`;
const enabled = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);

/** Runs the built CLI as a child process. */
const llmgov = (env: Record<string, string>, ...args: string[]) => runCli(args, { env: { NO_COLOR: '1', ...env }, timeoutMs: 120_000 });

const text = (topic: string, n: number) => Array.from({ length: n }, (_, i) => `Sentence ${i} on ${topic} with its own words number ${i * 11}.`).join(' ');

describe('llmgov reindex (runReindex, rollbackReindex)', { skip: enabled ? false : 'the local stack is not configured', timeout: 120_000 }, () => {
  let pool: Pool;
  let redis: Redis;
  let store: VectorStore;
  let dir: string;
  const docs = [
    ['d1', text('Normans', 6)],
    ['d2', text('Warsaw', 3)],
    ['d3', text('Amazon', 9)],
  ] as const;
  const baselineSpec = parseEmbeddingModel('local:64', { dimensions: 64, chunkTokens: 24, chunkOverlap: 0 });
  const baseline = `chunks_it-base-${run}_64_v1`;

  before(async () => {
    await migrate(process.env.DATABASE_URL!);
    pool = createPgPool(process.env.DATABASE_URL!, { max: 2 });
    redis = createRedis(process.env.REDIS_URL!);
    dir = mkdtempSync(path.join(tmpdir(), 'reindex-it-'));
    store = vectorStoreFromSettings({ VECTOR_STORE: 'lancedb', VECTOR_STORE_DIR: dir });
    for (const [id, t] of docs) {
      await pool.query(`INSERT INTO documents (tenant_id, document_id, content_hash, source, title, text, language) VALUES ($1, $2, $3, 'it', 't', $4, 'en')`, [
        tenant,
        id,
        createHash('sha256').update(t).digest('hex'),
        t,
      ]);
    }
    await store.ensureCollection(baseline, { dimensions: 64 });
  });

  after(async () => {
    await pool?.query('DELETE FROM documents WHERE tenant_id = $1', [tenant]);
    await pool?.query('DELETE FROM index_versions WHERE tenant_id = $1', [tenant]);
    const keys = (await redis?.keys(`semcache:{${tenant}}:*`)) ?? [];
    if (keys.length > 0) await redis.del(...keys);
    redis?.disconnect();
    await pool?.end();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('dry run plan, re-index into v2 with another model, verified swap with cache invalidation, then rollback', async () => {
    const spec = parseEmbeddingModel('local:32', { dimensions: 384, chunkTokens: 16, chunkOverlap: 4 });
    const expected = docs.reduce((n, [, t]) => n + chunkText(t, 16, 4).length, 0);
    const plan = await planReindex(pool, { tenant, version: 'v2', spec, usdPerMillionTokens: 0.02, ratePerSecond: 10 });
    assert.equal(plan.documents, 3);
    assert.equal(plan.chunks, expected);
    assert.ok(plan.tokens > 0 && plan.costUsd > 0);
    assert.equal(plan.etaSeconds, 0.3);

    await registerBaseline(pool, store, tenant, baselineSpec, baseline);
    assert.equal((await activeVersion(pool, tenant))?.version, 'v1');
    assert.equal(await store.resolveAlias(tenantAlias(tenant)), baseline);

    const cache = new RedisSemanticCache(redis);
    const scope = {
      tenantId: tenant,
      route: 'r',
      key: semanticScopeKey({ route: 'r', systemPrompt: null, rag: true, tierTemplates: '-', indexVersion: baseline, modelGeneration: 'it' }),
    };
    const axis = Array.from({ length: 8 }, (_, k) => (k === 0 ? 1 : 0.01));
    await cache.add(
      scope,
      {
        id: 'e1',
        route: 'r',
        text: 'a',
        finish_reason: 'stop',
        model: 'm',
        tier: 'S',
        context: [],
        quality: 1,
        source_prompt: 'q',
        chunk_ids: ['d1#0'],
        document_ids: ['d1'],
        intent: null,
        created_at: 0,
        expires_at: 0,
      },
      axis,
      { ttlSeconds: 600, maxEntries: 10 },
    );

    const ticks: string[] = [];
    const result = await runReindex(pool, store, cache, {
      tenant,
      version: 'v2',
      spec,
      usdPerMillionTokens: 0,
      ratePerSecond: null,
      golden: null,
      serving: { client: new HashingEmbedder({ dimensions: 64 }), collection: baseline },
      mode: 'sparse',
      progress: { start: () => undefined, tick: (d) => void ticks.push(d), stop: () => undefined },
    });
    assert.equal(result.reason, null);
    assert.equal(result.swapped, true);
    assert.equal(result.foundChunks, expected);
    assert.deepEqual(ticks.sort(), ['d1', 'd2', 'd3']);
    assert.equal(await store.resolveAlias(tenantAlias(tenant)), result.plan.collection);
    assert.equal((await activeVersion(pool, tenant))?.version, 'v2');
    assert.equal(result.invalidatedEntries, 1, 'the answer built on d1 was dropped at the swap');
    assert.equal((await cache.lookup(scope, axis, { defaultThreshold: 0.9, embeddingSpace: 'it' })).entry, undefined);
    await assert.rejects(
      runReindex(pool, store, null, {
        tenant,
        version: 'v2',
        spec,
        usdPerMillionTokens: 0,
        ratePerSecond: null,
        golden: null,
        serving: { client: new HashingEmbedder({ dimensions: 32 }), collection: result.plan.collection },
        mode: 'sparse',
      }),
      /already has index version v2/,
    );

    const back = await rollbackReindex(pool, store, cache, tenant);
    assert.deepEqual({ from: back.from, to: back.to, collection: back.collection }, { from: 'v2', to: 'v1', collection: baseline });
    assert.equal(await store.resolveAlias(tenantAlias(tenant)), baseline);
    assert.equal((await activeVersion(pool, tenant))?.version, 'v1');
    assert.equal(await store.count(result.plan.collection, tenant), expected, 'v2 is kept for a roll forward');
  });

  it('the built CLI: --help, dry run, hostile options refused, a real run and rollback', async () => {
    for (const args of [
      ['reindex', '--help'],
      ['reindex', 'rollback', '--help'],
    ]) {
      const r = await llmgov({}, ...args);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.match((await llmgov({}, 'reindex', '--help')).stdout, /source of record/);
    const cliTenant = `rx-cli-${run}`;
    for (const [id, t] of docs) {
      await pool.query(`INSERT INTO documents (tenant_id, document_id, content_hash, source, title, text, language) VALUES ($1, $2, $3, 'it', 't', $4, 'en')`, [
        cliTenant,
        id,
        createHash('sha256').update(t).digest('hex'),
        t,
      ]);
    }
    const base = ['reindex', '--tenant', cliTenant, '--embedding-model', 'local:32', '--chunk-tokens', '16', '--overlap', '4'];
    const dry = await llmgov({}, ...base, '--to-version', 'v2', '--rate', '5/s', '--dry-run', '--json');
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout) as { documents: number; chunks: number; etaSeconds: number; tokens: number; costUsd: number; price_source: string };
    assert.equal(plan.price_source, 'price catalog 2026-11-v2, local-hashing-ngram');
    assert.equal(plan.costUsd, (plan.tokens * 0.02) / 1e6);
    assert.deepEqual(
      { documents: plan.documents, chunks: plan.chunks, eta: plan.etaSeconds },
      { documents: 3, chunks: docs.reduce((n, [, t]) => n + chunkText(t, 16, 4).length, 0), eta: 0.6 },
    );
    for (const bad of [
      ['--tenant', "x' OR 1=1", '--to-version', 'v2'],
      ['--to-version', 'v1'],
      ['--to-version', 'v2; drop'],
      ['--to-version', 'v2', '--rate', '0/s'],
      ['--to-version', 'v2', '--overlap', '16'],
      ['--to-version', 'v2', '--embedding-model', 'some-model'],
    ]) {
      const r = await llmgov({}, ...base, ...bad, '--dry-run');
      assert.equal(r.code, 1, `${bad.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, /error/);
    }
    const env = { VECTOR_STORE: 'lancedb', VECTOR_STORE_DIR: dir, EMBEDDINGS: 'local', EMBEDDING_DIMENSIONS: '64' };
    const real = await llmgov(env, ...base, '--to-version', 'v3', '--json');
    assert.equal(real.code, 0, real.stderr);
    const result = JSON.parse(real.stdout) as { swapped: boolean; foundChunks: number; expectedChunks: number };
    assert.equal(result.swapped, true);
    assert.equal(result.foundChunks, result.expectedChunks);
    const back = await llmgov(env, 'reindex', 'rollback', '--tenant', cliTenant, '--json');
    assert.equal(back.code, 0, back.stderr);
    assert.equal((JSON.parse(back.stdout) as { to: string }).to, 'v1');
    const none = await llmgov(env, 'reindex', 'rollback', '--tenant', `rx-none-${run}`);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no retired index version/);
    await pool.query('DELETE FROM documents WHERE tenant_id = $1', [cliTenant]);
    await pool.query('DELETE FROM index_versions WHERE tenant_id = $1', [cliTenant]);
  });
});
