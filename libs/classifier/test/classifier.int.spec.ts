import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpenAIEmbeddingsClient } from '@llmgov/embeddings';
import { defaultModelDir, loadEmbeddingModel, missingModelFiles, startEmbeddingsServer, type EmbeddingsServerHandle } from '@llmgov/embeddings-server';
import { ClassifierError, IntentClassifier, parseClassifierSettings, type ClassifierSettings } from '../src/index.js';

// The real model: all-MiniLM-L6-v2 from infra/local/models.sh, served by tools/embeddings-server in this process and
// reached through the platform's OpenAIEmbeddingsClient. Without its files the suite skips and says why.
const modelDir = defaultModelDir();
const missing = missingModelFiles(modelDir);
const skip = missing.length > 0 ? `model files missing in ${modelDir} (${missing.join(', ')}); run infra/local/models.sh outside the network namespace` : false;

/** The repository root, from libs/classifier/dist/test/. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

interface Row {
  id: string;
  intent: string;
  text: string;
  article?: string;
}

describe('IntentClassifier on real all-MiniLM-L6-v2 embeddings, with the policy intents and the evaluation set', { skip }, () => {
  let server: EmbeddingsServerHandle;
  let client: OpenAIEmbeddingsClient;
  let settings: ClassifierSettings;
  let classifier: IntentClassifier;
  let rows: Row[];
  let embedCalls = 0;
  const embedOne = async (text: string): Promise<ArrayLike<number>> => (await client.embed([text])).vectors[0]!;

  before(async () => {
    server = await startEmbeddingsServer(await loadEmbeddingModel({ modelDir }), { host: '127.0.0.1', port: 0, maxBatchSize: 8 });
    client = new OpenAIEmbeddingsClient({ baseUrl: server.url, model: 'all-MiniLM-L6-v2', timeoutMs: 120_000 });
    settings = parseClassifierSettings(JSON.parse(await readFile(path.join(root, 'infra/policies/classifier-intents.json'), 'utf8')));
    rows = (await readFile(path.join(root, 'libs/classifier/data/intents-eval.jsonl'), 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Row);
    classifier = await IntentClassifier.create(settings, async (texts) => {
      embedCalls += 1;
      return (await client.embed(texts)).vectors;
    });
  });
  after(() => server?.close());

  it('classifies SQuAD questions as squad-factoid: the first of each of the first eight articles, and most of all 96', async () => {
    const squad = rows.filter((r) => r.article !== undefined);
    assert.equal(squad.length, 96);
    const firstPerArticle: Row[] = [];
    for (const r of squad) if (!firstPerArticle.some((f) => f.article === r.article)) firstPerArticle.push(r);
    firstPerArticle.splice(8);
    assert.equal(new Set(firstPerArticle.map((r) => r.article)).size, 8);
    const { vectors } = await client.embed(squad.map((r) => r.text));
    const results = squad.map((r, i) => classifier.classify(r.text, vectors[i]!));
    for (const r of firstPerArticle) {
      const c = results[squad.indexOf(r)]!;
      assert.equal(c.intent, 'squad-factoid', `${r.id} "${r.text}" → ${c.intent} (${c.intent_score} vs ${c.runner_up.intent} ${c.runner_up.score})`);
      assert.ok(c.intent_score > c.runner_up.score && c.runner_up.intent !== 'squad-factoid');
      assert.ok(c.complexity < settings.complexity_threshold, `a one-line factoid question is simple: ${c.complexity}`);
    }
    // bench:classifier measures 0.865 here with this policy and model (bench/README.md, "Classifier"); a broken centroid,
    // a mismatched embedding space or a lost centring falls far below.
    const correct = results.filter((c) => c.intent === 'squad-factoid').length;
    assert.ok(correct / squad.length >= 0.8, `${correct}/${squad.length} SQuAD questions classified as squad-factoid`);
  });

  it('embedded the examples once at build time and never embeds while classifying', async () => {
    const before = embedCalls;
    const text = 'I have had a headache and a fever of 39 degrees since Monday; can I take ibuprofen with my blood pressure pills?';
    classifier.classify(text, await embedOne(text));
    assert.equal(embedCalls, before);
    assert.equal(before, 1);
  });

  it('marks medical and legal requests high risk, and adds PII found in the text', async () => {
    const medical = 'My doctor prescribed 20 mg of atorvastatin; what side effects should I watch for?';
    const m = classifier.classify(medical, await embedOne(medical));
    assert.equal(m.intent, 'medical');
    assert.deepEqual(m.risk_reasons, ['high_risk_intent:medical']);
    assert.ok(m.risk >= settings.risk_threshold);

    const legal = 'Review this arbitration clause and tell me whether it waives our right to a jury trial. Reply to legal@example.com.';
    const l = classifier.classify(legal, await embedOne(legal));
    assert.equal(l.intent, 'contract-review');
    assert.deepEqual(l.risk_reasons, ['pii_email', 'high_risk_intent:contract-review']);
    assert.equal(l.risk, 0.76); // 1 − 0.6 · 0.4

    const hello = 'Hello there, how are you doing today?';
    const h = classifier.classify(hello, await embedOne(hello));
    assert.equal(h.intent, 'smalltalk');
    assert.equal(h.risk, 0);
  });

  it('refuses a real vector cut short or corrupted, with the reason', async () => {
    const v = Array.from(await embedOne('How do I reset my password?'));
    assert.throws(() => classifier.classify('How do I reset my password?', v.slice(0, 383)), /query embedding has 383 dimensions, expected 384/);
    v[7] = Number.NaN;
    assert.throws(
      () => classifier.classify('How do I reset my password?', v),
      (err: unknown) => err instanceof ClassifierError && err.code === 'embedding_not_finite',
    );
  });
});
