import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { OpenAIEmbeddingsClient } from '@llmgov/embeddings';
import { loadEmbeddingModel, startEmbeddingsServer, type EmbeddingsServerHandle } from '@llmgov/embeddings-server';
import { DEFAULT_MAX_TEXT_CHARS, IntentClassifier, type Classification, type ClassifierSettings, type IntentMethod } from '@llmgov/classifier';
import { loadClassifierSettings, loadEvalSet, splitProblems, utteranceKey, type EvalRow } from './eval-set.js';
import { accuracyReport, distribution, percentile, type AccuracyReport, type Distribution } from './metrics.js';
import { NO_FLOORS, calibrateFloors, figures, predictWithFloors, splitHalves, type Floors, type HighRiskFigures, type ScoredRow } from './high-risk.js';

export interface BenchOptions {
  /** Classifier settings JSON: the policy's intents with their example utterances (the training side). */
  policy: string;
  /** Labelled evaluation set, JSONL (the test side). */
  evalSet: string;
  /** Methods to measure; the first is the primary one (embedding + classify time, complexity and risk tables). */
  methods: IntentMethod[];
  /** Timed classify passes over the evaluation set per method, after one warm-up pass. */
  repeat: number;
  /** all-MiniLM-L6-v2 files (tools/embeddings-server layout). */
  modelDir: string;
  /** ONNX Runtime intra-op threads of the in-process embeddings server; default: all cores. */
  threads?: number;
  /**
   * The SQuAD file the SQuAD rows and examples come from (optional): with it, the SQuAD rows' accuracy is also given
   * separately for articles that have a policy example (seen topics) and articles that have none (unseen).
   */
  squad?: string;
}

export interface MethodResult {
  method: string;
  accuracy: AccuracyReport;
  /** classify() alone, ms per request: `repeat` passes over every row, after a warm-up pass. */
  classifyMs: Distribution;
  /** p95 classify ÷ p95 embedding call, measured in the same run. */
  classifyP95OverEmbeddingP95: number;
  /** intent_score of the rows it got right and of those it got wrong (p50): what a confidence floor could use. */
  intentScore: { correctP50: number; wrongP50: number | null };
  /** Rows classified wrongly: id, true and predicted intent, score, runner-up. */
  errors: { id: string; text: string; intent: string; predicted: string; score: number; runnerUp: string; runnerUpScore: number }[];
}

export interface BenchSummary {
  policy: string;
  evalSet: string;
  startedAt: string;
  wallSeconds: number;
  intents: string[];
  /** Example utterances per intent (train) and evaluation rows per intent (test). */
  examples: Record<string, number>;
  rows: Record<string, number>;
  model: { name: string; dimensions: number; server: string };
  /** The classifier's build time: one embedding call for all examples, then centroids/matrix (primary method). */
  buildMs: number;
  /** One /v1/embeddings request per evaluation row (the router's query embedding), ms: the baseline. */
  embeddingMs: Distribution;
  /** The embedding call and then classify (primary method), per row, as the router would run them, ms. */
  embeddingPlusClassifyMs: Distribution;
  /** classify() of a DEFAULT_MAX_TEXT_CHARS-character text (primary method), ms: the longest input accepted. */
  classifyMaxTextMs: Distribution & { chars: number };
  methods: MethodResult[];
  /** Primary method, SQuAD rows: accuracy on articles with a policy example (seen) and without (unseen); needs `squad`. */
  squadByTopic?: { seen: { articles: number; rows: number; accuracy: number }; unseen: { articles: number; rows: number; accuracy: number } };
  /** SQuAD rows per article that the primary method classified as something else. */
  squadErrorsByArticle: Record<string, { rows: number; wrong: number; predicted: Record<string, number> }>;
  /** Per true intent, primary method: complexity p50/p90 and the share above the policy's threshold; risk share at or above its threshold; reason counts. */
  scores: Record<
    string,
    { complexityP50: number; complexityP90: number; aboveComplexityThreshold: number; atOrAboveRiskThreshold: number; reasons: Record<string, number> }
  >;
  thresholds: { complexity: number; risk: number };
  /**
   * The high-risk confidence floors (primary method): calibrated on one half of the evaluation rows (stratified by intent,
   * see splitHalves), reported on the other half before (no floors) and after; and the false-high-risk rate on every
   * SQuAD question of `squad` that is neither an example nor an evaluation row, before and after.
   */
  highRisk: {
    highRiskIntents: string[];
    floors: Floors;
    calibration: { before: HighRiskFigures; after: HighRiskFigures };
    test: { before: HighRiskFigures; after: HighRiskFigures };
    unseenSquad?: { questions: number; falseHighRiskBefore: number; falseHighRiskAfter: number };
  };
  machine: { cores: number; loadAverageStart: [number, number]; loadAverageEnd: [number, number]; peakRssMb: number };
}

/** `centroid`, `knn k=3`, `centroid centred`. */
export const methodLabel = (m: IntentMethod): string => `${m.kind === 'centroid' ? 'centroid' : `knn k=${m.k}`}${m.center === true ? ' centred' : ''}`;

/** Parses `centroid` or `knn:K` (K ≥ 1), each optionally followed by `:center`. @throws Error otherwise. */
export function parseMethod(spec: string): IntentMethod {
  const m = /^(?:(centroid)|knn:(\d+))(:center)?$/.exec(spec);
  const center = m?.[3] === undefined ? {} : { center: true };
  if (m?.[1] !== undefined) return { kind: 'centroid', ...center };
  if (m?.[2] !== undefined && Number(m[2]) >= 1) return { kind: 'knn', k: Number(m[2]), ...center };
  throw new Error(`method "${spec}": expected centroid or knn:K with K >= 1, optionally followed by :center`);
}

const r4 = (x: number): number => Math.round(x * 10_000) / 10_000;

/**
 * Builds one classifier per method from the policy's example utterances (embedded once, by all-MiniLM-L6-v2 served by
 * tools/embeddings-server started in this process and reached through `OpenAIEmbeddingsClient`), then, per evaluation
 * row: one embedding request (timed: the baseline), classify with the primary method right after it (timed: embedding +
 * classify), and every method's prediction. Then `repeat` timed passes of classify() alone per method, interleaved
 * row by row so every method sees the same load, and a classify() of a maximum-length text. Stops the server at the end,
 * also on failure.
 * @throws Error when a file is invalid, the split does not hold (a test text among the examples), the model files are
 *   missing (ModelFilesMissingError), or `signal` aborts.
 */
export async function runClassifierBench(o: BenchOptions, log: (message: string) => void, signal?: AbortSignal): Promise<BenchSummary> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const loadStart = os.loadavg();
  const aborted = (): void => {
    if (signal?.aborted) throw new Error('interrupted');
  };
  if (o.methods.length === 0) throw new Error('no method to measure');
  const settings: ClassifierSettings = await loadClassifierSettings(o.policy);
  const rows: EvalRow[] = await loadEvalSet(o.evalSet);
  const problems = splitProblems(settings, rows);
  if (problems.length > 0) throw new Error(`the evaluation set does not fit the policy: ${problems.join('; ')}`);
  const intents = settings.intents.map((i) => i.name);
  log(`${rows.length} evaluation rows, ${settings.intents.reduce((a, i) => a + i.examples.length, 0)} example utterances, ${intents.length} intents`);

  log(`loading all-MiniLM-L6-v2 from ${o.modelDir}`);
  const model = await loadEmbeddingModel({ modelDir: o.modelDir, ...(o.threads === undefined ? {} : { threads: o.threads }) });
  let server: EmbeddingsServerHandle | undefined;
  try {
    server = await startEmbeddingsServer(model, { host: '127.0.0.1', port: 0, maxBatchSize: 8 });
    const client = new OpenAIEmbeddingsClient({ baseUrl: server.url, model: model.name, maxBatchSize: 64, timeoutMs: 600_000 });
    log(`embeddings server ${server.url} (${model.name}, ${model.dimensions} dimensions)`);

    // --- classifiers: the examples are embedded once, every method reuses the vectors --------------------------------
    const cache = new Map<string, ArrayLike<number>>();
    const embedExamples = async (texts: string[]): Promise<ArrayLike<number>[]> => {
      const missing = texts.filter((t) => !cache.has(t));
      if (missing.length > 0) {
        const r = await client.embed(missing, signal ? { signal } : {});
        missing.forEach((t, i) => cache.set(t, r.vectors[i]!));
      }
      return texts.map((t) => cache.get(t)!);
    };
    const tBuild = performance.now();
    const classifiers = [await IntentClassifier.create(settings, embedExamples, { method: o.methods[0]! })];
    const buildMs = performance.now() - tBuild;
    for (const m of o.methods.slice(1)) classifiers.push(await IntentClassifier.create(settings, embedExamples, { method: m }));
    const primary = classifiers[0]!;
    // Warm-up (JIT) on the training side only: each example utterance classified with its own vector.
    for (const c of classifiers) for (const i of settings.intents) for (const e of i.examples) c.classify(e, cache.get(e)!);

    // --- per row: the embedding call, then classify, as the router runs them ------------------------------------------
    log(`embedding and classifying ${rows.length} rows`);
    const queries: ArrayLike<number>[] = [];
    const embeddingMs: number[] = [];
    const endToEndMs: number[] = [];
    const results: Classification[][] = classifiers.map(() => []);
    for (const row of rows) {
      aborted();
      const ta = performance.now();
      const { vectors } = await client.embed([row.text], signal ? { signal } : {});
      const tb = performance.now();
      const first = primary.classify(row.text, vectors[0]!);
      const tc = performance.now();
      embeddingMs.push(tb - ta);
      endToEndMs.push(tc - ta);
      queries.push(vectors[0]!);
      results[0]!.push(first);
      classifiers.slice(1).forEach((c, i) => results[i + 1]!.push(c.classify(row.text, vectors[0]!)));
    }

    // --- high-risk confidence floors: calibrated on one half, reported on the other -----------------------------------
    const highRiskIntents = new Set(settings.intents.filter((i) => i.high_risk === true).map((i) => i.name));
    const scored: ScoredRow[] = rows.map((r, i) => ({
      intent: r.intent,
      scores: primary.intentScores(queries[i]!),
      ...(r.article === undefined ? {} : { article: r.article }),
    }));
    const halves = splitHalves(scored);
    const calibrated = calibrateFloors(halves.calibration, highRiskIntents);
    const highRisk: BenchSummary['highRisk'] = {
      highRiskIntents: [...highRiskIntents],
      floors: calibrated.floors,
      calibration: { before: figures(halves.calibration, highRiskIntents, NO_FLOORS), after: calibrated.figures },
      test: { before: figures(halves.test, highRiskIntents, NO_FLOORS), after: figures(halves.test, highRiskIntents, calibrated.floors) },
    };
    if (o.squad !== undefined) {
      const taken = new Set([...rows.map((r) => utteranceKey(r.text)), ...settings.intents.flatMap((i) => i.examples.map(utteranceKey))]);
      const questions = [...new Set((await squadQuestions(o.squad)).filter((q) => !taken.has(utteranceKey(q))))];
      log(`high-risk floors: embedding ${questions.length} SQuAD questions that are neither examples nor evaluation rows`);
      let before = 0;
      let after = 0;
      for (let at = 0; at < questions.length; at += 64) {
        aborted();
        const batch = questions.slice(at, at + 64);
        const { vectors } = await client.embed(batch, signal ? { signal } : {});
        for (const v of vectors) {
          const sc = primary.intentScores(v);
          if (highRiskIntents.has(predictWithFloors(sc, highRiskIntents, NO_FLOORS))) before++;
          if (highRiskIntents.has(predictWithFloors(sc, highRiskIntents, calibrated.floors))) after++;
        }
      }
      highRisk.unseenSquad = { questions: questions.length, falseHighRiskBefore: before, falseHighRiskAfter: after };
    }

    // --- classify() alone: repeated passes, methods interleaved per row ------------------------------------------------
    log(`timing classify(): ${o.repeat} passes × ${rows.length} rows × ${classifiers.length} methods`);
    const classifyMs: number[][] = classifiers.map(() => []);
    for (let pass = 0; pass <= o.repeat; pass++) {
      aborted();
      rows.forEach((row, i) => {
        classifiers.forEach((c, m) => {
          const ts = performance.now();
          c.classify(row.text, queries[i]!);
          const te = performance.now();
          if (pass > 0) classifyMs[m]!.push(te - ts); // pass 0 is the warm-up
        });
      });
    }

    // --- the longest text accepted ---------------------------------------------------------------------------------
    let longText = '';
    for (let i = 0; longText.length < DEFAULT_MAX_TEXT_CHARS; i++) longText += `${rows[i % rows.length]!.text} `;
    longText = longText.slice(0, DEFAULT_MAX_TEXT_CHARS);
    const longMs: number[] = [];
    for (let i = 0; i < Math.max(50, o.repeat * 10); i++) {
      const ts = performance.now();
      primary.classify(longText, queries[0]!);
      longMs.push(performance.now() - ts);
    }

    // --- figures ---------------------------------------------------------------------------------------------------
    const truth = rows.map((r) => r.intent);
    const embeddingDist = distribution(embeddingMs, 3);
    const methods: MethodResult[] = classifiers.map((c, m) => {
      const res = results[m]!;
      const dist = distribution(classifyMs[m]!, 4);
      const right = res.filter((r, i) => r.intent === truth[i]).map((r) => r.intent_score);
      const wrong = res.filter((r, i) => r.intent !== truth[i]).map((r) => r.intent_score);
      return {
        method: methodLabel(c.method),
        accuracy: accuracyReport(
          intents,
          truth,
          res.map((r) => r.intent),
        ),
        classifyMs: dist,
        classifyP95OverEmbeddingP95: r4(dist.p95 / embeddingDist.p95),
        intentScore: { correctP50: r4(percentile(right, 50)), wrongP50: wrong.length === 0 ? null : r4(percentile(wrong, 50)) },
        errors: res.flatMap((r, i) =>
          r.intent === truth[i]
            ? []
            : [
                {
                  id: rows[i]!.id,
                  text: rows[i]!.text,
                  intent: truth[i]!,
                  predicted: r.intent,
                  score: r4(r.intent_score),
                  runnerUp: r.runner_up.intent,
                  runnerUpScore: r4(r.runner_up.score),
                },
              ],
        ),
      };
    });

    const squadErrorsByArticle: BenchSummary['squadErrorsByArticle'] = {};
    rows.forEach((row, i) => {
      if (row.article === undefined) return;
      const a = (squadErrorsByArticle[row.article] ??= { rows: 0, wrong: 0, predicted: {} });
      a.rows += 1;
      const p = results[0]![i]!.intent;
      if (p !== row.intent) {
        a.wrong += 1;
        a.predicted[p] = (a.predicted[p] ?? 0) + 1;
      }
    });

    let squadByTopic: BenchSummary['squadByTopic'];
    if (o.squad !== undefined) {
      const seen = await articlesOfExamples(o.squad, settings);
      const part = (isSeen: boolean) => {
        const idx = rows.map((r, i) => i).filter((i) => rows[i]!.article !== undefined && seen.has(rows[i]!.article!) === isSeen);
        const correct = idx.filter((i) => results[0]![i]!.intent === truth[i]).length;
        return { articles: new Set(idx.map((i) => rows[i]!.article)).size, rows: idx.length, accuracy: idx.length === 0 ? 0 : r4(correct / idx.length) };
      };
      squadByTopic = { seen: part(true), unseen: part(false) };
    }

    const scores: BenchSummary['scores'] = {};
    for (const name of intents) {
      const mine = results[0]!.filter((_, i) => truth[i] === name);
      const complexity = mine.map((r) => r.complexity);
      const reasons: Record<string, number> = {};
      for (const r of mine) {
        for (const reason of r.risk_reasons) {
          const key = reason.replace(/^injection_score_.*/, 'injection_score_*');
          reasons[key] = (reasons[key] ?? 0) + 1;
        }
      }
      scores[name] = {
        complexityP50: r4(percentile(complexity, 50)),
        complexityP90: r4(percentile(complexity, 90)),
        aboveComplexityThreshold: r4(complexity.filter((x) => x > settings.complexity_threshold).length / mine.length),
        atOrAboveRiskThreshold: r4(mine.filter((r) => r.risk >= settings.risk_threshold).length / mine.length),
        reasons,
      };
    }

    const loadEnd = os.loadavg();
    const count = (f: (name: string) => number): Record<string, number> => Object.fromEntries(intents.map((n) => [n, f(n)]));
    return {
      policy: o.policy,
      evalSet: o.evalSet,
      startedAt,
      wallSeconds: Math.round((performance.now() - t0) / 100) / 10,
      intents,
      examples: count((n) => settings.intents.find((i) => i.name === n)!.examples.length),
      rows: count((n) => rows.filter((r) => r.intent === n).length),
      model: { name: model.name, dimensions: model.dimensions, server: 'in-process, HTTP on loopback' },
      buildMs: Math.round(buildMs * 10) / 10,
      embeddingMs: embeddingDist,
      embeddingPlusClassifyMs: distribution(endToEndMs, 3),
      classifyMaxTextMs: { ...distribution(longMs, 4), chars: longText.length },
      methods,
      ...(squadByTopic === undefined ? {} : { squadByTopic }),
      squadErrorsByArticle,
      scores,
      thresholds: { complexity: settings.complexity_threshold, risk: settings.risk_threshold },
      highRisk,
      machine: {
        cores: os.availableParallelism(),
        loadAverageStart: [r2(loadStart[0]!), r2(loadStart[1]!)],
        loadAverageEnd: [r2(loadEnd[0]!), r2(loadEnd[1]!)],
        peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      },
    };
  } finally {
    await server?.close();
  }
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Every question of a SQuAD v1.1 file, in file order. */
async function squadQuestions(squadPath: string): Promise<string[]> {
  const doc = JSON.parse(await readFile(squadPath, 'utf8')) as { data?: { paragraphs: { qas: { question: string }[] }[] }[] };
  if (!Array.isArray(doc.data)) throw new Error(`${squadPath}: not a SQuAD v1.1 file (no data[])`);
  return doc.data.flatMap((a) => a.paragraphs.flatMap((p) => p.qas.map((q) => q.question.trim())));
}

/** The titles of the SQuAD articles that hold one of the policy's example utterances as a question. */
async function articlesOfExamples(squadPath: string, settings: ClassifierSettings): Promise<Set<string>> {
  const doc = JSON.parse(await readFile(squadPath, 'utf8')) as { data?: { title: string; paragraphs: { qas: { question: string }[] }[] }[] };
  if (!Array.isArray(doc.data)) throw new Error(`${squadPath}: not a SQuAD v1.1 file (no data[])`);
  const titleOf = new Map<string, string>();
  for (const a of doc.data) for (const p of a.paragraphs) for (const q of p.qas) titleOf.set(utteranceKey(q.question), a.title);
  const seen = new Set<string>();
  for (const i of settings.intents) {
    for (const e of i.examples) {
      const title = titleOf.get(utteranceKey(e));
      if (title !== undefined) seen.add(title);
    }
  }
  return seen;
}

/** The summary as plain-text tables: accuracy per intent and method, the primary method's confusion matrix, times, scores. */
export function formatTable(s: BenchSummary): string {
  const lines: string[] = [];
  const pad = (x: string | number, n: number): string => String(x).padEnd(n);
  const lpad = (x: string | number, n: number): string => String(x).padStart(n);
  const w = Math.max(...s.intents.map((i) => i.length), 16) + 2;
  lines.push(
    `Classifier: ${Object.values(s.rows).reduce((a, b) => a + b, 0)} labelled requests, ${s.intents.length} intents, ` +
      `${Object.values(s.examples).reduce((a, b) => a + b, 0)} example utterances; ${s.model.name} (${s.model.dimensions} dimensions)`,
    '',
    'Accuracy (per intent = share of its rows classified as it; precision in brackets)',
    pad('intent', w) + pad('rows', 6) + s.methods.map((m) => lpad(m.method, 18)).join(''),
  );
  for (const name of s.intents) {
    lines.push(
      pad(name, w) +
        pad(s.rows[name]!, 6) +
        s.methods.map((m) => lpad(`${m.accuracy.perIntent[name]!.accuracy.toFixed(3)} (${m.accuracy.perIntent[name]!.precision.toFixed(3)})`, 18)).join(''),
    );
  }
  lines.push(pad('overall', w) + pad('', 6) + s.methods.map((m) => lpad(m.accuracy.overall.toFixed(3), 18)).join(''));
  lines.push(pad('macro (mean)', w) + pad('', 6) + s.methods.map((m) => lpad(m.accuracy.macro.toFixed(3), 18)).join(''));
  lines.push(
    pad('intent_score p50', w) +
      pad('', 6) +
      s.methods.map((m) => lpad(`${m.intentScore.correctP50.toFixed(2)} / ${m.intentScore.wrongP50?.toFixed(2) ?? '-'}`, 18)).join('') +
      '   (right / wrong)',
  );

  const primary = s.methods[0]!;
  const short = (n: string): string => n.slice(0, 9);
  lines.push('', `Confusion matrix, ${primary.method} (rows: true intent; columns: predicted)`, pad('', w) + s.intents.map((i) => lpad(short(i), 11)).join(''));
  for (const t of s.intents) lines.push(pad(t, w) + s.intents.map((p) => lpad(primary.accuracy.confusion[t]![p]!, 11)).join(''));

  const d = (x: Distribution): string => `${x.p50.toFixed(3)} / ${x.p95.toFixed(3)} / ${x.p99.toFixed(3)}`;
  lines.push('', 'Time per request, ms (p50 / p95 / p99)', `${pad('embedding call (baseline)', 40)}${lpad(d(s.embeddingMs), 26)}`);
  for (const m of s.methods) {
    lines.push(`${pad(`classify, ${m.method}`, 40)}${lpad(d(m.classifyMs), 26)}   p95 ÷ embedding p95 = ${m.classifyP95OverEmbeddingP95}`);
  }
  lines.push(`${pad(`embedding + classify, ${primary.method}`, 40)}${lpad(d(s.embeddingPlusClassifyMs), 26)}`);
  lines.push(`${pad(`classify, ${s.classifyMaxTextMs.chars}-char text, ${primary.method}`, 40)}${lpad(d(s.classifyMaxTextMs), 26)}`);
  lines.push(`build (embed ${Object.values(s.examples).reduce((a, b) => a + b, 0)} examples + precompute): ${s.buildMs} ms`);

  lines.push(
    '',
    `Scores per true intent, ${primary.method} (thresholds: complexity ${s.thresholds.complexity}, risk ${s.thresholds.risk})`,
    pad('intent', w) + lpad('complexity p50', 16) + lpad('p90', 8) + lpad('> thr', 8) + lpad('risk ≥ thr', 12) + '   reasons',
  );
  for (const name of s.intents) {
    const x = s.scores[name]!;
    const reasons = Object.entries(x.reasons)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    lines.push(
      pad(name, w) +
        lpad(x.complexityP50.toFixed(3), 16) +
        lpad(x.complexityP90.toFixed(3), 8) +
        lpad(x.aboveComplexityThreshold.toFixed(2), 8) +
        lpad(x.atOrAboveRiskThreshold.toFixed(2), 12) +
        `   ${reasons}`,
    );
  }
  if (s.squadByTopic) {
    const { seen, unseen } = s.squadByTopic;
    lines.push(
      '',
      `SQuAD questions, ${primary.method}: articles with a policy example ${seen.accuracy.toFixed(3)} (${seen.rows} rows, ${seen.articles} articles), ` +
        `without ${unseen.accuracy.toFixed(3)} (${unseen.rows} rows, ${unseen.articles} articles)`,
    );
  }
  const articles = Object.entries(s.squadErrorsByArticle).filter(([, a]) => a.wrong > 0);
  if (articles.length > 0) {
    lines.push('', `SQuAD articles with misclassified questions, ${primary.method}`);
    for (const [title, a] of articles) lines.push(`  ${pad(title, 28)} ${a.wrong}/${a.rows} → ${JSON.stringify(a.predicted)}`);
  }
  if (primary.errors.length > 0) {
    lines.push('', `Misclassified rows, ${primary.method} (${primary.errors.length}; all in the --summary JSON)`);
    for (const e of primary.errors.slice(0, 40)) {
      lines.push(
        `  ${pad(e.id, 34)} ${pad(`${e.intent} → ${e.predicted}`, 34)} ${e.score.toFixed(2)} vs ${e.runnerUpScore.toFixed(2)}  ${e.text.slice(0, 70)}`,
      );
    }
  }
  const h = s.highRisk;
  const rate = (n: number, of: number): string => `${n}/${of} (${of === 0 ? '0.000' : (n / of).toFixed(3)})`;
  lines.push(
    '',
    `High-risk confidence floors, ${primary.method} (high-risk intents: ${h.highRiskIntents.join(', ')}): calibrated on the calibration half ` +
      `(even rows of each intent, ${h.calibration.before.rows} rows): high_risk_min_score ${h.floors.minScore}, high_risk_min_margin ${h.floors.minMargin}`,
    `Reported on the test half (odd rows of each intent, ${h.test.before.rows} rows), before → after:`,
    pad('intent', w) + lpad('rows', 6) + lpad('before', 10) + lpad('after', 10),
  );
  for (const name of s.intents) {
    const b = h.test.before.perIntent[name];
    const a = h.test.after.perIntent[name];
    if (b && a) lines.push(pad(name, w) + lpad(b.rows, 6) + lpad(b.accuracy.toFixed(3), 10) + lpad(a.accuracy.toFixed(3), 10));
  }
  lines.push(
    pad('overall', w) + lpad(h.test.before.rows, 6) + lpad(h.test.before.accuracy.toFixed(3), 10) + lpad(h.test.after.accuracy.toFixed(3), 10),
    `  high-risk rows on their intent: ${rate(h.test.before.highRiskKept, h.test.before.highRiskRows)} → ${rate(h.test.after.highRiskKept, h.test.after.highRiskRows)}`,
    `  false high risk, all other rows: ${rate(h.test.before.falseHighRisk, h.test.before.otherRows)} → ${rate(h.test.after.falseHighRisk, h.test.after.otherRows)}`,
    `  false high risk, SQuAD rows:     ${rate(h.test.before.squadFalseHighRisk, h.test.before.squadRows)} → ${rate(h.test.after.squadFalseHighRisk, h.test.after.squadRows)}`,
    `  (calibration half: false high risk ${rate(h.calibration.before.falseHighRisk, h.calibration.before.otherRows)} → ${rate(h.calibration.after.falseHighRisk, h.calibration.after.otherRows)}, ` +
      `high-risk kept ${rate(h.calibration.before.highRiskKept, h.calibration.before.highRiskRows)} → ${rate(h.calibration.after.highRiskKept, h.calibration.after.highRiskRows)})`,
  );
  if (h.unseenSquad) {
    const u = h.unseenSquad;
    lines.push(
      `  false high risk, the SQuAD file's other questions (neither examples nor evaluation rows): ${rate(u.falseHighRiskBefore, u.questions)} → ${rate(u.falseHighRiskAfter, u.questions)}`,
    );
  }
  lines.push(
    '',
    `Load average ${s.machine.loadAverageStart[0]} → ${s.machine.loadAverageEnd[0]} (1 min) on ${s.machine.cores} cores; peak RSS ${s.machine.peakRssMb} MB; ${s.wallSeconds} s`,
  );
  return lines.join('\n');
}
