#!/usr/bin/env node
/**
 * bench-semantic-cache: the semantic cache layer on real all-MiniLM-L6-v2 vectors and the real Redis (ADR 0008).
 * 1. Calibrates a threshold on the `calibrate` half of a SQuAD file's paragraphs (labelled lookups: near-miss questions
 *    of the same paragraph and rewordings of cached ones, labelled by the gold answers).
 * 2. Measures it on the held-out `evaluate` half: false-hit rate, hit rate and recall, overall and per kind, and the hit
 *    rate of a workload (verbatim repeats + rewordings + near-misses) against the exact-only baseline.
 * 3. Times lookups on the real Redis at several scope sizes: RedisSemanticCache.lookup (script call, in-process scan,
 *    entry fetch) against the exact layer's GET in the same run.
 * Prints figures; asserts nothing. See bench/README.md ("Semantic cache").
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { loadConfig, platformEnvSchema } from '@llmgov/config';
import { defaultModelDir } from '@llmgov/embeddings-server';
import {
  AnswerCacheRepository,
  RedisSemanticCache,
  ScopeCopy,
  createRedis,
  encodeVectorBlob,
  semanticScopeKey,
  unitFloat32,
  type SemanticScope,
} from '@llmgov/persistence';
import { SEMANTIC_CACHE_DEFAULTS, calibrateThreshold, evaluateThreshold, type LabelledLookup } from '@llmgov/policy';
import { loadLocalEmbeddings, loadSquadQuestions, squadLookups } from './squad-lookups.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const num =
  (min: number, max: number) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number in [${min}, ${max}]`);
    return n;
  };
const sizes = (v: string): number[] => {
  const out = v.split(',').map((s) => num(1, 100_000)(s.trim()));
  if (out.some((n) => !Number.isInteger(n))) throw new InvalidArgumentError('expected integers, e.g. 100,1000');
  return out;
};

const program = new Command('bench-semantic-cache')
  .description(
    'Semantic cache on real vectors: calibrates the similarity threshold on half of the SQuAD paragraphs, measures the false-hit ' +
      'and hit rates on the other half against the exact-only baseline, and times lookups on the real Redis against the exact ' +
      "layer's GET. Needs REDIS_URL (npm run bench:semantic-cache starts the local stack).",
  )
  .option('--input <path>', 'SQuAD v1.1-format file', path.resolve(root, '../shared/data/squad-v1.1-dev-subset.json'))
  .option('--target <rate>', 'false-hit rate target of the calibration (upper bound, one-sided 95 %)', num(0.0001, 0.5), SEMANTIC_CACHE_DEFAULTS.falseHitTarget)
  .option('--scope-sizes <list>', 'entries per scope to time lookups at', sizes, [100, 1000])
  .option('--lookups <n>', 'timed lookups per scope size (after 50 warm-up lookups)', num(10, 1_000_000), 2000)
  .option('--model-dir <dir>', 'all-MiniLM-L6-v2 files (infra/local/models.sh)', defaultModelDir())
  .option('--threads <n>', 'ONNX Runtime threads (default: all cores)', num(1, 256))
  .option('--summary <path>', 'write the results as JSON here')
  .parse();

interface Opts {
  input: string;
  target: number;
  scopeSizes: number[];
  lookups: number;
  modelDir: string;
  threads?: number;
  summary?: string;
}

const r4 = (x: number) => Math.round(x * 10_000) / 10_000;
const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
function quantiles(xs: number[], digits = 4): { p5: number; p50: number; p95: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => (s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!);
  const f = 10 ** digits;
  return { p5: Math.round(q(5) * f) / f, p50: Math.round(q(50) * f) / f, p95: Math.round(q(95) * f) / f, n: s.length };
}

async function main(): Promise<void> {
  const o = program.opts<Opts>();
  const t0 = performance.now();
  const load0 = os.loadavg();
  const { REDIS_URL } = loadConfig(z.object({ REDIS_URL: platformEnvSchema.shape.REDIS_URL }));
  const questions = await loadSquadQuestions(o.input);
  console.error(`${questions.length} questions; loading all-MiniLM-L6-v2 from ${o.modelDir}`);
  const embeddings = await loadLocalEmbeddings(o.modelDir, o.threads);

  // 1. Calibration on one half of the paragraphs.
  console.error('embedding the calibrate half');
  const cal = await squadLookups(questions, 'calibrate', embeddings);
  const calibration = calibrateThreshold(cal.lookups, { target: o.target });
  if (calibration.threshold === null) throw new Error(`no threshold keeps the false-hit bound under ${o.target} on the calibrate half`);
  const threshold = calibration.threshold;

  // 2. Held-out measurement on the other half.
  console.error('embedding the evaluate half');
  const ev = await squadLookups(questions, 'evaluate', embeddings);
  const byKind = (ls: LabelledLookup[], kind: string) => ls.filter((l) => l.kind === kind);
  const heldOut = {
    calibrated: evaluateThreshold(ev.lookups, threshold),
    reworded: evaluateThreshold(byKind(ev.lookups, 'reworded'), threshold),
    near_miss: evaluateThreshold(byKind(ev.lookups, 'near_miss'), threshold),
    policy_default: evaluateThreshold(ev.lookups, SEMANTIC_CACHE_DEFAULTS.defaultThreshold),
  };
  const similarity = {
    reworded: quantiles(byKind(ev.lookups, 'reworded').map((l) => l.similarity)),
    near_miss_different_answer: quantiles(
      byKind(ev.lookups, 'near_miss')
        .filter((l) => !l.correct)
        .map((l) => l.similarity),
    ),
    near_miss_same_answer: quantiles(
      byKind(ev.lookups, 'near_miss')
        .filter((l) => l.correct)
        .map((l) => l.similarity),
    ),
  };
  // A workload over the held-out half: every cached question asked again verbatim (an exact hit), plus every lookup.
  const repeats = ev.cached.length;
  const workload = repeats + ev.lookups.length;
  const semanticHits = heldOut.calibrated.hits;
  const hitRates = {
    requests: workload,
    exact_only: r4(repeats / workload),
    exact_plus_semantic: r4((repeats + semanticHits) / workload),
    ratio: r4((repeats + semanticHits) / repeats),
    false_hits: heldOut.calibrated.falseHits,
    false_hit_rate_of_all_hits: r4(heldOut.calibrated.falseHits / (repeats + semanticHits)),
  };

  // 3. Lookup time on the real Redis, against the exact layer's GET in the same run.
  const redis = createRedis(REDIS_URL);
  const tenant = `bench-sc-${randomUUID().slice(0, 8)}`;
  const timing: Record<string, unknown>[] = [];
  try {
    const writer = new RedisSemanticCache(redis);
    const exact = new AnswerCacheRepository(redis);
    await exact.fill(tenant, 'k', { text: 'x', finish_reason: 'stop', model: 'm', tier: 'S', context: [], quality: 1 }, 3600);
    for (const size of o.scopeSizes) {
      const scope: SemanticScope = {
        tenantId: tenant,
        route: `r${size}`,
        key: semanticScopeKey({
          route: `r${size}`,
          systemPrompt: null,
          rag: true,
          tierTemplates: '-',
          indexVersion: embeddings.space,
          modelGeneration: 'bench',
        }),
      };
      for (let i = 0; i < size; i++) {
        const src = ev.cached[i % ev.cached.length]!;
        await writer.add(
          scope,
          {
            id: `e${i}`,
            route: scope.route,
            text: `answer ${i}`,
            finish_reason: 'stop',
            model: 'm',
            tier: 'S',
            context: [],
            quality: 1,
            source_prompt: src.text,
            chunk_ids: [`c${i}`],
            document_ids: [src.group],
            intent: null,
            created_at: 0,
            expires_at: 0,
          },
          ev.cachedVectors[i % ev.cachedVectors.length]!,
          { ttlSeconds: 3600, maxEntries: size },
        );
      }
      const reader = new RedisSemanticCache(redis); // a router instance with no copy yet
      const options = { defaultThreshold: threshold, embeddingSpace: embeddings.space };
      const q = (i: number) => ev.queryVectors[i % ev.queryVectors.length]!;
      const f0 = performance.now();
      await reader.lookup(scope, q(0), options);
      const firstMs = performance.now() - f0;
      for (let i = 1; i <= 50; i++) {
        await reader.lookup(scope, q(i), options);
        await exact.get(tenant, 'k');
      }
      const semMs: number[] = [];
      const exactMs: number[] = [];
      let hits = 0;
      // Interleaved, so both see the same load.
      for (let i = 0; i < o.lookups; i++) {
        const a = performance.now();
        const r = await reader.lookup(scope, q(i), options);
        const b = performance.now();
        await exact.get(tenant, 'k');
        const c = performance.now();
        semMs.push(b - a);
        exactMs.push(c - b);
        if (r.entry) hits++;
      }
      // The in-process scan alone (ScopeCopy.nearest over the same vectors), to split the lookup into scan and round trips.
      const copy = new ScopeCopy();
      copy.reset('bench');
      for (let i = 0; i < size; i++) copy.put(`e${i}`, encodeVectorBlob(Date.now() + 3_600_000, unitFloat32(ev.cachedVectors[i % ev.cachedVectors.length]!)));
      const units = Array.from({ length: Math.min(500, ev.queryVectors.length) }, (_, i) => unitFloat32(q(i)));
      const scanMs: number[] = [];
      for (let i = 0; i < o.lookups; i++) {
        const a = performance.now();
        copy.nearest(units[i % units.length]!, threshold, Date.now());
        scanMs.push(performance.now() - a);
      }
      const s = quantiles(semMs, 3);
      const e = quantiles(exactMs, 3);
      timing.push({
        scope_entries: size,
        lookups: o.lookups,
        hit_share: r4(hits / o.lookups),
        first_lookup_ms: Math.round(firstMs * 1000) / 1000,
        semantic_ms: s,
        scan_only_ms: quantiles(scanMs, 3),
        exact_get_ms: e,
        p50_ratio: r4(s.p50 / e.p50),
        p95_ratio: r4(s.p95 / e.p95),
      });
      console.error(`timed ${o.lookups} lookups at ${size} entries`);
    }
  } finally {
    const keys = await redis.keys(`semcache:{${tenant}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.del(`cache:exact:${tenant}:k`);
    redis.disconnect();
  }

  const summary = {
    input: o.input,
    model: { name: embeddings.model.name, dimensions: embeddings.model.dimensions, space: embeddings.space },
    calibration: { half: 'calibrate', questions: cal.questions, cached: cal.cached.length, ...calibration },
    held_out: { half: 'evaluate', questions: ev.questions, cached: ev.cached.length, lookups: ev.lookups.length, threshold, ...heldOut },
    similarity,
    hit_rates: hitRates,
    lookup_time: timing,
    wall_seconds: Math.round(performance.now() - t0) / 1000,
    machine: { cores: os.cpus().length, load_average_start: load0.map(r4), load_average_end: os.loadavg().map(r4) },
  };
  const c = summary.calibration;
  console.log('=== semantic cache ===');
  console.log(`model:           ${summary.model.name} (${summary.model.dimensions} dims), space ${summary.model.space}`);
  console.log(
    `calibration:     ${c.questions} questions (calibrate half), ${c.pairs} labelled lookups (${c.positives} right answers cached); target ${pct(o.target)} → threshold ${r4(threshold)}: ${c.hits} hits, ${c.falseHits} false (${pct(c.falseHitRate)}, bound ${pct(c.falseHitUpperBound)}), recall ${pct(c.recall)}`,
  );
  const h = heldOut;
  console.log(`held out:        ${ev.questions} questions (evaluate half), ${ev.lookups.length} lookups at threshold ${r4(threshold)}`);
  console.log(
    `  all lookups    hits ${h.calibrated.hits}, false ${h.calibrated.falseHits} → false-hit rate ${pct(h.calibrated.falseHitRate)}; hit rate ${pct(h.calibrated.hitRate)}, recall ${pct(h.calibrated.recall)}`,
  );
  console.log(`  reworded       hits ${h.reworded.hits}/${h.reworded.lookups}, false ${h.reworded.falseHits}`);
  console.log(`  near-miss      hits ${h.near_miss.hits}/${h.near_miss.lookups}, false ${h.near_miss.falseHits}`);
  console.log(
    `  policy default ${SEMANTIC_CACHE_DEFAULTS.defaultThreshold}: hits ${h.policy_default.hits}, false ${h.policy_default.falseHits} (${pct(h.policy_default.falseHitRate)}), hit rate ${pct(h.policy_default.hitRate)}`,
  );
  console.log(
    `similarity p5/p50/p95: reworded ${similarity.reworded.p5}/${similarity.reworded.p50}/${similarity.reworded.p95}; near-miss, other answer ${similarity.near_miss_different_answer.p5}/${similarity.near_miss_different_answer.p50}/${similarity.near_miss_different_answer.p95}; near-miss, same answer ${similarity.near_miss_same_answer.p50} (n ${similarity.near_miss_same_answer.n})`,
  );
  console.log(
    `hit rate:        ${hitRates.requests} requests (repeats + rewordings + near-misses): exact only ${pct(hitRates.exact_only)}, exact + semantic ${pct(hitRates.exact_plus_semantic)} (×${hitRates.ratio}); false hits ${pct(hitRates.false_hit_rate_of_all_hits)} of all hits`,
  );
  console.log('lookup (ms):     entries  first   semantic p50/p95   scan only p50/p95   exact GET p50/p95   ratio p50/p95  hits');
  for (const t of timing as {
    scope_entries: number;
    first_lookup_ms: number;
    semantic_ms: { p50: number; p95: number };
    scan_only_ms: { p50: number; p95: number };
    exact_get_ms: { p50: number; p95: number };
    p50_ratio: number;
    p95_ratio: number;
    hit_share: number;
  }[])
    console.log(
      `                 ${String(t.scope_entries).padStart(7)}  ${t.first_lookup_ms.toFixed(2).padStart(6)}   ${t.semantic_ms.p50.toFixed(3)}/${t.semantic_ms.p95.toFixed(3)}        ${t.scan_only_ms.p50.toFixed(3)}/${t.scan_only_ms.p95.toFixed(3)}         ${t.exact_get_ms.p50.toFixed(3)}/${t.exact_get_ms.p95.toFixed(3)}         ${t.p50_ratio}/${t.p95_ratio}   ${pct(t.hit_share)}`,
    );
  console.log(
    `wall time:       ${summary.wall_seconds} s; load average ${summary.machine.load_average_start.join(' ')} → ${summary.machine.load_average_end.join(' ')}`,
  );
  if (o.summary) {
    mkdirSync(path.dirname(o.summary), { recursive: true });
    writeFileSync(o.summary, JSON.stringify(summary, null, 2));
    console.log(`summary written to ${o.summary}`);
  }
}

main().catch((err: unknown) => {
  console.error(`bench-semantic-cache failed: ${(err as Error).message}`);
  process.exit(1);
});
