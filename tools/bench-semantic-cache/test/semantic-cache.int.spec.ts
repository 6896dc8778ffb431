/**
 * The semantic cache layer on real parts: all-MiniLM-L6-v2 (loaded in process, the router's model) and the Redis of the
 * local stack. A threshold is calibrated from SQuAD gold answers (the calibrate half of the shared SQuAD file), stored as the
 * tenant and route's threshold, and then every lookup goes through RedisSemanticCache as the router's does:
 * - a reworded question gets a semantic hit on the answer of the question it rewords;
 * - a near-miss question about the same paragraph with a different answer does not, at the calibrated threshold;
 * - over all lookups, the served false-hit rate stays under the target, as the calibration promised.
 * Skipped without REDIS_URL or the model files (infra/local/models.sh).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultModelDir, missingModelFiles } from '@llmgov/embeddings-server';
import {
  RedisSemanticCache,
  SemanticCacheRecords,
  createRedis,
  semanticScopeKey,
  type Redis,
  type SemanticCacheEntry,
  type SemanticScope,
} from '@llmgov/persistence';
import { calibrateThreshold, reword, sameAnswer, type LabelledQuestion, type ThresholdCalibration } from '@llmgov/policy';
import { loadLocalEmbeddings, loadSquadQuestions, squadLookups, type LocalEmbeddings, type SquadLookups } from '../src/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const SQUAD = path.resolve(root, '../shared/data/squad-v1.1-dev-subset.json');
const modelDir = process.env.EMBEDDINGS_MODEL_DIR ?? defaultModelDir();
const skip = !process.env.REDIS_URL ? 'REDIS_URL is not set' : missingModelFiles(modelDir).length > 0 ? `no model files in ${modelDir}` : false;
const run = randomUUID().slice(0, 8);
const tenant = `sq-${run}`;
const TARGET = 0.02;

const entryOf = (q: LabelledQuestion, route: string): SemanticCacheEntry => ({
  id: q.id,
  route,
  text: q.answers[0] ?? '',
  finish_reason: 'stop',
  model: 'm',
  tier: 'S',
  context: [],
  quality: 0.9,
  source_prompt: q.text,
  chunk_ids: [`${q.group}#0`],
  document_ids: [q.group],
  intent: null,
  created_at: 0,
  expires_at: 0,
});

describe('semantic cache on all-MiniLM-L6-v2 and Redis, calibrated from SQuAD gold answers', { skip, timeout: 600_000 }, () => {
  let redis: Redis;
  let embeddings: LocalEmbeddings;
  let questions: LabelledQuestion[];
  let set: SquadLookups;
  let calibration: ThresholdCalibration;
  const scopeOf = (route: string): SemanticScope => ({
    tenantId: tenant,
    route,
    key: semanticScopeKey({ route, systemPrompt: null, rag: true, tierTemplates: '-', indexVersion: embeddings.space, modelGeneration: 'it' }),
  });

  before(async () => {
    redis = createRedis(process.env.REDIS_URL!);
    embeddings = await loadLocalEmbeddings(modelDir);
    questions = await loadSquadQuestions(SQUAD);
    // The calibrate half of the paragraphs, as `llmgov cache calibrate` takes it by default. (A calibration on a few
    // articles with sparser near-misses, e.g. articles 1-5 alone, gives 0.917, which serves the NFC question below the
    // AFC answer: thresholds do not transfer between question distributions.)
    set = await squadLookups(questions, 'calibrate', embeddings);
    calibration = calibrateThreshold(set.lookups, { target: TARGET });
    assert.notEqual(calibration.threshold, null, 'the subset certifies a threshold');
    await new SemanticCacheRecords(redis).setThreshold(tenant, 'squad-qa', {
      threshold: calibration.threshold!,
      target: TARGET,
      false_hit_upper_bound: calibration.falseHitUpperBound,
      false_hit_rate: calibration.falseHitRate,
      pairs: calibration.pairs,
      hits: calibration.hits,
      embedding_space: embeddings.space,
      source: 'it',
      calibrated_at: new Date().toISOString(),
    });
  });

  after(async () => {
    const keys = await redis.keys(`semcache:{${tenant}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('serves a reworded question the cached answer, and not a near-miss with another answer (Super Bowl 50: AFC vs NFC)', async () => {
    const scope = scopeOf('squad-qa');
    const afc = questions.find((q) => q.text === 'Which NFL team represented the AFC at Super Bowl 50?')!;
    const nfc = questions.find((q) => q.text === 'Which NFL team represented the NFC at Super Bowl 50?')!;
    assert.ok(afc && nfc && afc.group === nfc.group && !sameAnswer(afc.answers, nfc.answers), 'a same-paragraph pair with different answers');
    const cache = new RedisSemanticCache(redis);
    const [v] = await embeddings.embed([afc.text]);
    await cache.add(scope, entryOf(afc, scope.route), v!, { ttlSeconds: 600, maxEntries: 1000 });

    const reader = new RedisSemanticCache(redis); // another router instance
    const reworded = reword(afc.text, afc.id);
    assert.notEqual(reworded, afc.text);
    const [rv, nv] = await embeddings.embed([reworded, nfc.text]);
    const hit = await reader.lookup(scope, rv!, { defaultThreshold: 0.999, embeddingSpace: embeddings.space });
    assert.equal(hit.thresholdSource, 'calibrated');
    assert.equal(hit.threshold, calibration.threshold);
    assert.equal(hit.entry?.source_prompt, afc.text, `"${reworded}" is served the AFC answer (similarity ${hit.similarity})`);
    const miss = await reader.lookup(scope, nv!, { defaultThreshold: 0.999, embeddingSpace: embeddings.space });
    assert.equal(miss.entry, undefined, `the NFC question is not served the AFC answer (similarity ${miss.similarity}, threshold ${miss.threshold})`);
    assert.ok(miss.similarity! < miss.threshold);
  });

  it('over every labelled lookup, the served false-hit rate through Redis stays under the target', async () => {
    const scope = scopeOf('bulk');
    await new SemanticCacheRecords(redis).setThreshold(tenant, 'bulk', (await new SemanticCacheRecords(redis).getThreshold(tenant, 'squad-qa'))!);
    const writer = new RedisSemanticCache(redis);
    for (let i = 0; i < set.cached.length; i++)
      await writer.add(scope, entryOf(set.cached[i]!, scope.route), set.cachedVectors[i]!, { ttlSeconds: 600, maxEntries: 5000 });
    const byId = new Map(set.cached.map((q) => [q.id, q]));
    const reader = new RedisSemanticCache(redis);
    let served = 0;
    let falseHits = 0;
    let reworded = 0;
    let rewordedHits = 0;
    for (let i = 0; i < set.queries.length; i++) {
      const q = set.queries[i]!;
      const r = await reader.lookup(scope, set.queryVectors[i]!, { defaultThreshold: 0.999, embeddingSpace: embeddings.space });
      if (q.kind === 'reworded') reworded++;
      if (!r.entry) continue;
      served++;
      if (!sameAnswer(byId.get(r.entry.id)!.answers, q.answers)) falseHits++;
      if (q.kind === 'reworded' && r.entry.id === q.sourceId) rewordedHits++;
    }
    assert.ok(served > 0.9 * calibration.hits && served <= calibration.hits + 5, `served ${served}, calibration said ${calibration.hits}`);
    assert.ok(falseHits / served <= TARGET, `false-hit rate ${falseHits}/${served}`);
    assert.ok(rewordedHits / reworded > 0.7, `rewordings served their own source: ${rewordedHits}/${reworded}`);
  });
});
