import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEmbeddingsClient } from './factory.js';
import { HashingEmbedder } from './hashing-embedder.js';

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

describe(HashingEmbedder.name, () => {
  const embedder = new HashingEmbedder();

  it('reports model, version, dimensions and token usage', async () => {
    const r = await embedder.embed(['The quick brown fox', 'jumps']);
    assert.equal(r.model, 'local-hashing-ngram');
    assert.equal(r.modelVersion, 'v1');
    assert.equal(r.dimensions, 384);
    assert.equal(r.vectors.length, 2);
    assert.equal(r.vectors[0]!.length, 384);
    assert.equal(r.usage.prompt_tokens, 5); // words, stop words included
  });

  it('is deterministic across calls and instances', async () => {
    const text = 'Nikola Tesla was a Serbian-American inventor and electrical engineer.';
    const a = (await embedder.embed([text])).vectors[0] as Float32Array;
    const b = (await new HashingEmbedder().embed([text])).vectors[0]!;
    assert.deepEqual(Array.from(a), Array.from(b));
    // Pinned output: a change here changes the vector space and needs a new modelVersion.
    const nonZero: [number, number][] = [];
    a.forEach((x, i) => {
      if (x !== 0) nonZero.push([i, Math.round(x * 1e4) / 1e4]);
    });
    assert.deepEqual(nonZero, [
      [30, -0.343],
      [35, 0.343],
      [57, 0.1715],
      [97, 0.1715],
      [125, 0.343],
      [203, -0.1715],
      [216, 0.343],
      [223, -0.1715],
      [262, 0.1715],
      [265, 0.343],
      [274, -0.343],
      [285, -0.1715],
      [322, 0.343],
    ]);
  });

  it('L2-normalises every non-empty vector, returns zeros for texts with no words', async () => {
    const r = await embedder.embed(['short', 'a much longer text with many many many repeated words words words', '', '?!']);
    for (const v of r.vectors.slice(0, 2)) {
      const norm = Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
    }
    assert.ok(Array.from(r.vectors[2]!).every((x) => x === 0));
    assert.ok(Array.from(r.vectors[3]!).every((x) => x === 0));
  });

  it('places lexically similar texts closer than unrelated ones', async () => {
    const [q, near, far] = (
      await embedder.embed([
        'Which year did the Normans conquer England?',
        'The Norman conquest of England took place in the year 1066 when the Normans won at Hastings.',
        'Photosynthesis converts light energy into chemical energy in plants.',
      ])
    ).vectors as Float32Array[];
    assert.ok(cosine(q!, near!) > 0.3, `near ${cosine(q!, near!)}`);
    assert.ok(cosine(q!, near!) > cosine(q!, far!) + 0.2, `near ${cosine(q!, near!)} far ${cosine(q!, far!)}`);
  });

  it('is case- and accent-insensitive and ignores stop words', async () => {
    const [a, b] = (await embedder.embed(['The Café in Zürich', 'cafe zurich'])).vectors as Float32Array[];
    assert.ok(cosine(a!, b!) > 0.999);
  });

  it('captures word order through bigrams', async () => {
    const [a, b, c] = (await embedder.embed(['dog bites man', 'man bites dog', 'dog bites man'])).vectors as Float32Array[];
    assert.ok(cosine(a!, c!) > cosine(a!, b!));
  });

  it('character trigrams make inflections closer and change the version', async () => {
    const tri = new HashingEmbedder({ charTrigrams: true });
    assert.equal(tri.modelVersion, 'v1+c3');
    const [a, b] = (await tri.embed(['invented', 'inventor'])).vectors as Float32Array[];
    const [c, d] = (await embedder.embed(['invented', 'inventor'])).vectors as Float32Array[];
    assert.ok(cosine(a!, b!) > 0.3);
    assert.ok(Math.abs(cosine(c!, d!)) < 0.2);
  });

  it('honours dimensions and rejects nonsense', async () => {
    const r = await new HashingEmbedder({ dimensions: 64 }).embed(['hello']);
    assert.equal(r.vectors[0]!.length, 64);
    assert.throws(() => new HashingEmbedder({ dimensions: 0 }), RangeError);
    assert.throws(() => new HashingEmbedder({ dimensions: 3.5 }), RangeError);
  });

  it('is what createEmbeddingsClient returns for kind local', async () => {
    const client = createEmbeddingsClient({ kind: 'local', dimensions: 128 });
    assert.ok(client instanceof HashingEmbedder);
    assert.equal((await client.embed(['x'])).dimensions, 128);
    assert.throws(() => createEmbeddingsClient({ kind: 'openai' }), /baseUrl/);
  });
});
