/**
 * The one behavioural contract every `VectorStore` implementation must pass. Run against LanceDB by
 * `lancedb.int.spec.ts` (always) and against Qdrant by `qdrant.int.spec.ts` (when QDRANT_URL is set).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Bm25SparseEncoder, HashingEmbedder } from '@llmgov/embeddings';
import { pointId, VectorStoreError, type ChunkPoint, type SearchMode, type SearchQuery, type VectorStore } from '../src/index.js';

export interface ContractHarness {
  /** Opens a new, independent store instance on the shared backend (a new connection each call). */
  open(): Promise<VectorStore>;
  /** Removes whatever the suite created under `prefix` (collections, aliases, files). */
  cleanup(prefix: string): Promise<void>;
}

const DIMS = 384;
const embedder = new HashingEmbedder({ dimensions: DIMS });
const sparseEncoder = new Bm25SparseEncoder({ avgDocLength: 20 });

export function makePoint(tenantId: string, documentId: string, chunkId: string, text: string, metadata?: Record<string, string>): ChunkPoint {
  return {
    id: pointId(tenantId, chunkId),
    tenantId,
    documentId,
    chunkId,
    text,
    dense: Array.from(embedder.embedOne(text).vector),
    sparse: sparseEncoder.encode(text),
    contentHash: `sha256:${text.length}`,
    embeddingModel: `${embedder.model}@${embedder.modelVersion}`,
    ...(metadata ? { metadata } : {}),
  };
}

export function makeQuery(tenantId: string, text: string, mode: SearchMode, k = 5): SearchQuery {
  return { tenantId, text, dense: Array.from(embedder.embedOne(text).vector), sparse: sparseEncoder.encodeQuery(text), k, mode };
}

const MODES: SearchMode[] = ['dense', 'sparse', 'hybrid'];

const HOSTILE_TENANTS = [
  "x' OR '1'='1",
  "x\\' OR 1=1 --",
  "'); DROP TABLE chunks; --",
  'tenant "quoted" \\ back\\slash',
  'ünïcödé-テナント-🙂',
  'a'.repeat(300),
];

/** Small synthetic corpus: 8 topics × 6 documents, each with a unique named entity. */
function syntheticCorpus(tenantId: string): { points: ChunkPoint[]; queries: { text: string; chunkId: string }[] } {
  const topics: Record<string, string[]> = {
    astronomy: ['telescope', 'galaxy', 'orbit', 'comet', 'nebula', 'planet', 'star', 'eclipse'],
    cooking: ['recipe', 'oven', 'flour', 'butter', 'simmer', 'sauce', 'garlic', 'roast'],
    finance: ['bond', 'equity', 'dividend', 'interest', 'inflation', 'portfolio', 'broker', 'yield'],
    medicine: ['vaccine', 'antibody', 'surgery', 'diagnosis', 'clinic', 'symptom', 'dose', 'therapy'],
    sailing: ['harbor', 'mast', 'keel', 'tide', 'anchor', 'regatta', 'sail', 'hull'],
    music: ['symphony', 'violin', 'chord', 'melody', 'orchestra', 'tempo', 'opera', 'piano'],
    geology: ['basalt', 'magma', 'fault', 'sediment', 'quartz', 'volcano', 'mineral', 'erosion'],
    software: ['compiler', 'database', 'kernel', 'thread', 'cache', 'runtime', 'library', 'network'],
  };
  const names = ['alder', 'birch', 'cedar', 'dogwood', 'elm', 'fir'];
  const points: ChunkPoint[] = [];
  const queries: { text: string; chunkId: string }[] = [];
  for (const [topic, words] of Object.entries(topics)) {
    names.forEach((name, i) => {
      const entity = `${name}${topic.slice(0, 3)}`; // e.g. "alderast": unique per document
      const picked = words.filter((_, j) => (j + i) % 3 !== 0);
      const text = `The ${entity} report covers ${picked.join(' and ')} in the context of ${topic}. ${entity} notes ${words[i]} twice: ${words[i]}.`;
      const chunkId = `${topic}-${i}`;
      points.push(makePoint(tenantId, `doc-${topic}-${i}`, chunkId, text));
      queries.push({ text: `what does ${entity} say about ${words[i]} and ${words[(i + 2) % words.length]}`, chunkId });
    });
  }
  return { points, queries };
}

async function rejectsWith(promise: Promise<unknown>, code: VectorStoreError['code']): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VectorStoreError, `expected VectorStoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

export function runVectorStoreContract(name: string, harness: ContractHarness): void {
  describe(`VectorStore contract: ${name}`, () => {
    const prefix = `ct_${randomBytes(4).toString('hex')}_`;
    let store: VectorStore;
    const opened: VectorStore[] = [];
    const open = async (): Promise<VectorStore> => {
      const s = await harness.open();
      opened.push(s);
      return s;
    };

    before(async () => {
      store = await open();
    });
    after(async () => {
      for (const s of opened) await s.close();
      await harness.cleanup(prefix);
    });

    it('ensureCollection is idempotent and refuses other dimensions', async () => {
      const c = `${prefix}ensure`;
      await store.ensureCollection(c, { dimensions: DIMS });
      await store.ensureCollection(c, { dimensions: DIMS });
      assert.equal(await store.count(c), 0);
      await rejectsWith(store.ensureCollection(c, { dimensions: 16 }), 'conflict');
      await rejectsWith(store.search(`${prefix}missing`, makeQuery('t', 'x', 'dense')), 'not_found');
    });

    it('upsert then search finds the right chunk in every mode', async () => {
      const c = `${prefix}basic`;
      await store.ensureCollection(c, { dimensions: DIMS });
      await store.upsert(c, [
        makePoint('acme', 'doc-1', 'doc-1#0', 'Nikola Tesla designed the alternating current induction motor in 1887.', { lang: 'en' }),
        makePoint('acme', 'doc-1', 'doc-1#1', 'Tesla later experimented with wireless power transmission at Colorado Springs.'),
        makePoint('acme', 'doc-2', 'doc-2#0', 'The Amazon rainforest produces a large share of the planet oxygen and rainfall.'),
        makePoint('acme', 'doc-3', 'doc-3#0', 'Sourdough bread rises slowly because wild yeast ferments the flour.'),
      ]);
      assert.equal(await store.count(c), 4);
      for (const mode of MODES) {
        const hits = await store.search(c, makeQuery('acme', 'wireless power transmission experiments', mode, 3));
        assert.ok(hits.length >= 1, `${mode}: no hits`);
        const top = hits[0]!;
        assert.equal(top.chunkId, 'doc-1#1', `${mode}: top hit ${top.chunkId}`);
        assert.equal(top.documentId, 'doc-1');
        assert.equal(top.id, pointId('acme', 'doc-1#1'));
        assert.match(top.text, /Colorado Springs/);
        assert.ok(Number.isFinite(top.score));
        assert.ok(hits.length <= 3);
        for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.score >= hits[i]!.score, `${mode}: scores not descending`);
      }
      const k1 = await store.search(c, makeQuery('acme', 'Tesla', 'dense', 1));
      assert.equal(k1.length, 1);
    });

    it('re-upserting the same ids does not duplicate and replaces the content', async () => {
      const c = `${prefix}idem`;
      await store.ensureCollection(c, { dimensions: DIMS });
      const batch = [
        makePoint('acme', 'doc-1', 'doc-1#0', 'first version about volcanoes and magma'),
        makePoint('acme', 'doc-1', 'doc-1#1', 'second chunk about tectonic plates'),
      ];
      await store.upsert(c, batch);
      await store.upsert(c, batch);
      assert.equal(await store.count(c), 2);
      // a batch that repeats an id keeps the last occurrence
      await store.upsert(c, [
        makePoint('acme', 'doc-1', 'doc-1#0', 'interim text'),
        makePoint('acme', 'doc-1', 'doc-1#0', 'rewritten chunk about glaciers and ice sheets'),
      ]);
      assert.equal(await store.count(c), 2);
      for (const mode of MODES) {
        const hits = await store.search(c, makeQuery('acme', 'glaciers ice sheets', mode, 5));
        assert.equal(hits.filter((h) => h.chunkId === 'doc-1#0').length, 1, `${mode}: duplicate hits`);
        assert.equal(hits[0]!.chunkId, 'doc-1#0');
        assert.match(hits[0]!.text, /glaciers/);
      }
      const stale = await store.search(c, makeQuery('acme', 'volcanoes magma', 'sparse', 5));
      assert.ok(
        stale.every((h) => !/volcanoes/.test(h.text)),
        'old text still searchable',
      );
    });

    it('rejects points whose id is not pointId(tenantId, chunkId)', async () => {
      const c = `${prefix}idcheck`;
      await store.ensureCollection(c, { dimensions: DIMS });
      const p = makePoint('acme', 'doc-1', 'doc-1#0', 'text');
      await rejectsWith(store.upsert(c, [{ ...p, id: pointId('other-tenant', 'doc-1#0') }]), 'invalid_argument');
      await rejectsWith(store.upsert(c, [{ ...p, dense: p.dense.slice(0, 10) }]), 'invalid_argument');
      await rejectsWith(store.search(c, { ...makeQuery('acme', 'text', 'dense'), k: 0 }), 'invalid_argument');
      await rejectsWith(store.search(c, { ...makeQuery('acme', 'text', 'dense'), tenantId: '' }), 'invalid_argument');
      assert.equal(await store.count(c), 0);
    });

    it('isolates tenants, including hostile tenant ids', async () => {
      const c = `${prefix}tenants`;
      await store.ensureCollection(c, { dimensions: DIMS });
      const tenants = ['alpha', 'beta', ...HOSTILE_TENANTS];
      const text = 'Shared confidential roadmap: launch the quantum widget in the third quarter.';
      // every tenant stores the same text, same document id and same chunk id
      await store.upsert(
        c,
        tenants.map((t) => makePoint(t, 'roadmap', 'roadmap#0', `${text} owner=${t}`)),
      );
      await store.upsert(c, [makePoint('alpha', 'alpha-only', 'alpha-only#0', 'alpha secret merger plans with quantum widget')]);
      assert.equal(await store.count(c), tenants.length + 1);
      for (const t of tenants) {
        assert.equal(await store.count(c, t), t === 'alpha' ? 2 : 1, `count for ${t}`);
        for (const mode of MODES) {
          const hits = await store.search(c, makeQuery(t, 'quantum widget roadmap merger', mode, 10));
          assert.equal(hits.length, t === 'alpha' ? 2 : 1, `${mode} hits for ${JSON.stringify(t)}`);
          for (const h of hits) {
            assert.ok(h.id === pointId(t, h.chunkId), `${mode}: ${JSON.stringify(t)} saw a point of another tenant`);
            if (h.chunkId === 'roadmap#0') assert.ok(h.text.endsWith(`owner=${t}`));
          }
        }
      }
      for (const mode of MODES) {
        assert.deepEqual(await store.search(c, makeQuery('nobody', 'quantum widget', mode)), [], `${mode}: unknown tenant saw data`);
        assert.deepEqual(await store.search(c, makeQuery('alpha%', 'quantum widget', mode)), [], `${mode}: wildcard tenant saw data`);
      }
      assert.equal(await store.count(c, "' OR ''='"), 0);
      // deleting beta's document leaves alpha's and the hostile tenants' copies alone
      assert.equal(await store.deleteByDocument(c, 'beta', 'roadmap'), 1);
      assert.equal(await store.deleteByDocument(c, "x' OR '1'='1", 'roadmap'), 1);
      assert.equal(await store.count(c), tenants.length - 1);
      assert.equal(await store.count(c, 'alpha'), 2);
    });

    it('deleteByDocument removes exactly that document of that tenant', async () => {
      const c = `${prefix}delete`;
      await store.ensureCollection(c, { dimensions: DIMS });
      await store.upsert(c, [
        makePoint('acme', 'doc-a', 'doc-a#0', 'penguins live in Antarctica'),
        makePoint('acme', 'doc-a', 'doc-a#1', 'emperor penguins huddle in winter'),
        makePoint('acme', 'doc-b', 'doc-b#0', 'penguins cannot fly but swim well'),
        makePoint('other', 'doc-a', 'doc-a#0', 'penguins of the other tenant'),
      ]);
      assert.equal(await store.deleteByDocument(c, 'acme', 'doc-a'), 2);
      assert.equal(await store.deleteByDocument(c, 'acme', 'doc-a'), 0);
      assert.equal(await store.deleteByDocument(c, 'acme', "doc-b' OR '1'='1"), 0);
      assert.equal(await store.count(c, 'acme'), 1);
      assert.equal(await store.count(c, 'other'), 1);
      for (const mode of MODES) {
        const hits = await store.search(c, makeQuery('acme', 'penguins', mode, 10));
        assert.deepEqual(
          hits.map((h) => h.chunkId),
          ['doc-b#0'],
          mode,
        );
      }
    });

    it('hybrid returns results and its recall is at least that of sparse alone', async (t) => {
      const c = `${prefix}recall`;
      await store.ensureCollection(c, { dimensions: DIMS });
      const { points, queries } = syntheticCorpus('acme');
      await store.upsert(c, points);
      const k = 3;
      const recall: Record<SearchMode, number> = { dense: 0, sparse: 0, hybrid: 0 };
      for (const mode of MODES) {
        let found = 0;
        for (const q of queries) {
          const hits = await store.search(c, makeQuery('acme', q.text, mode, k));
          if (mode === 'hybrid') assert.ok(hits.length > 0, 'hybrid returned nothing');
          if (hits.some((h) => h.chunkId === q.chunkId)) found++;
        }
        recall[mode] = found / queries.length;
      }
      t.diagnostic(`recall@${k} dense ${recall.dense.toFixed(3)} sparse ${recall.sparse.toFixed(3)} hybrid ${recall.hybrid.toFixed(3)}`);
      assert.ok(recall.sparse > 0.5, `sparse recall@${k} ${recall.sparse} is implausibly low`);
      assert.ok(recall.hybrid >= recall.sparse, `hybrid recall@${k} ${recall.hybrid} < sparse ${recall.sparse}`);
    });

    it('deleteByDocument with kept chunk ids removes only the others (a shorter version of the document)', async () => {
      const c = `${prefix}keep`;
      await store.ensureCollection(c, { dimensions: DIMS });
      await store.upsert(c, [
        makePoint('acme', 'doc-a', 'doc-a#0', 'first chunk about herons'),
        makePoint('acme', 'doc-a', 'doc-a#1', 'second chunk about herons'),
        makePoint('acme', 'doc-a', 'doc-a#2', 'third chunk about herons'),
        makePoint('other', 'doc-a', 'doc-a#2', 'the other tenant keeps its chunk'),
      ]);
      assert.equal(await store.deleteByDocument(c, 'acme', 'doc-a', ['doc-a#0']), 2);
      assert.equal(await store.deleteByDocument(c, 'acme', 'doc-a', ['doc-a#0']), 0, 'nothing left over: nothing deleted');
      assert.equal(await store.deleteByDocument(c, 'acme', 'doc-a', ["doc-a#0' OR '1'='1"]), 1, 'a hostile kept id keeps nothing');
      assert.equal(await store.count(c, 'acme'), 0);
      assert.equal(await store.count(c, 'other'), 1);
    });

    it('listCollections names collections, not aliases; resolveAlias names an alias target', async () => {
      const c = `${prefix}listed`;
      const alias = `${prefix}listed_alias`;
      await store.ensureCollection(c, { dimensions: DIMS });
      assert.equal(await store.resolveAlias(alias), undefined);
      await store.setAlias(alias, c);
      assert.equal(await store.resolveAlias(alias), c);
      const names = await store.listCollections();
      assert.ok(names.includes(c));
      assert.ok(!names.includes(alias));
    });

    it('aliases switch the target of searches and writes', async () => {
      const v1 = `${prefix}docs_v1`;
      const v2 = `${prefix}docs_v2`;
      const alias = `${prefix}docs`;
      await store.ensureCollection(v1, { dimensions: DIMS });
      await store.ensureCollection(v2, { dimensions: DIMS });
      await store.upsert(v1, [makePoint('acme', 'd', 'd#0', 'version one text about owls')]);
      await store.upsert(v2, [makePoint('acme', 'd', 'd#0', 'version two text about owls'), makePoint('acme', 'e', 'e#0', 'owls hunt mice')]);

      await rejectsWith(store.setAlias(alias, `${prefix}nope`), 'not_found');
      await store.setAlias(alias, v1);
      let hits = await store.search(alias, makeQuery('acme', 'owls', 'hybrid'));
      assert.deepEqual(
        hits.map((h) => h.text),
        ['version one text about owls'],
      );
      assert.equal(await store.count(alias), 1);
      await store.upsert(alias, [makePoint('acme', 'f', 'f#0', 'written through the alias')]);
      assert.equal(await store.count(v1), 2);

      await store.setAlias(alias, v2);
      hits = await store.search(alias, makeQuery('acme', 'owls', 'hybrid'));
      assert.equal(hits.length, 2);
      assert.ok(hits.some((h) => h.text === 'version two text about owls'));
      assert.equal(await store.count(alias), 2);
      await store.setAlias(alias, v2); // idempotent
      await rejectsWith(store.ensureCollection(alias, { dimensions: DIMS }), 'conflict');
    });

    it('a concurrently open reader sees the writer’s upserts, deletes and alias switches', async () => {
      const c1 = `${prefix}shared_v1`;
      const c2 = `${prefix}shared_v2`;
      const alias = `${prefix}shared`;
      const writer = await open();
      const reader = await open();
      await writer.ensureCollection(c1, { dimensions: DIMS });
      await writer.ensureCollection(c2, { dimensions: DIMS });
      await writer.setAlias(alias, c1);
      await writer.upsert(c1, [makePoint('acme', 'd0', 'd0#0', 'baseline chunk about lighthouses')]);

      // the reader opens the collection (and caches whatever it caches) before the next writes
      assert.equal(await reader.count(alias, 'acme'), 1);
      assert.equal((await reader.search(alias, makeQuery('acme', 'lighthouses', 'hybrid'))).length, 1);

      for (let round = 1; round <= 3; round++) {
        await writer.upsert(c1, [makePoint('acme', `d${round}`, `d${round}#0`, `round ${round} chunk about lighthouses and keepers${round}`)]);
        assert.equal(await reader.count(alias, 'acme'), round + 1, `round ${round}: reader count`);
        for (const mode of MODES) {
          const hits = await reader.search(alias, makeQuery('acme', `keepers${round} lighthouses`, mode, 10));
          assert.ok(
            hits.some((h) => h.chunkId === `d${round}#0`),
            `round ${round} ${mode}: reader missed the new chunk`,
          );
        }
      }
      await writer.deleteByDocument(c1, 'acme', 'd0');
      assert.equal(await reader.count(alias, 'acme'), 3);

      await writer.upsert(c2, [makePoint('acme', 'n', 'n#0', 'new index version about lighthouses')]);
      await writer.setAlias(alias, c2);
      const hits = await reader.search(alias, makeQuery('acme', 'lighthouses', 'dense', 10));
      assert.deepEqual(
        hits.map((h) => h.chunkId),
        ['n#0'],
      );
    });
  });
}
