#!/usr/bin/env node
/**
 * bench-judge: the judge's agreement with people on SQuAD (issue 11, section 1).
 * 1. Answers: the real small models (SmolLM2-135M on tier S, Gemma 3 270M on tier M, llama.cpp engines of
 *    tools/platform `localEngines('llama')`, the pool file's prompt templates) answer SQuAD questions with one context
 *    chunk: the gold paragraph, or for a share of questions another paragraph of the same article (a retrieval miss).
 *    They are written to a JSONL file, which later runs reuse (`--answers`) unless `--regenerate`.
 * 2. Labels: an answer is correct when its token F1 against the gold answers is >= 0.5 (SQuAD's official normalisation).
 * 3. Scores: the judge's cheap checks (@llmgov/judging), semantic support on real all-MiniLM-L6-v2 vectors.
 * 4. Calibration on one split (by question id), Cohen's kappa, precision and recall of PASS on the OTHER split, next to the
 *    weights in force and the judge before issue 11 (lexical groundedness >= 0.5).
 * Prints figures; asserts nothing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { intArg, numArg } from '@llmgov/cli-args';
import { defaultModelDir, loadEmbeddingModel } from '@llmgov/embeddings-server';
import {
  DEFAULT_JUDGE_WEIGHTS,
  calibrate,
  evaluateWeights,
  groundedness,
  judgePromptTemplateSchema,
  renderJudgePrompt,
  yesProbability,
  combineScores,
  scoreAnswer,
  scoreCompletion,
  splitOf,
  agreementFigures,
  confusion,
  type AgreementFigures,
  readSquadFile,
  type LabelledScores,
} from '@llmgov/judging';
import { pickQuestions } from './dataset.js';
import { generateAnswers, readPools, startLlmEngines, type GeneratedAnswer } from './generate.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

const program = new Command('bench-judge')
  .description(
    "The judge against SQuAD's human labels: real small-model answers labelled by token F1 >= 0.5, the judge's weights " +
      "calibrated on one split, Cohen's kappa, precision and recall of PASS reported on the other.",
  )
  .option('--input <path>', 'SQuAD v1.1-format file', path.resolve(root, '../shared/data/squad-v1.1-dev-subset.json'))
  .option('--questions <n>', 'questions to answer (spread over the file)', intArg(10, 100_000), 240)
  .option('--other-context-percent <p>', 'share of questions given another paragraph of the article as context (a retrieval miss)', intArg(0, 100), 30)
  .option('--calibration-percent <p>', 'share of questions (by id hash) in the calibration split', intArg(10, 90), 50)
  .option('--answers <path>', 'labelled-answer JSONL file: read when present, written after generation', path.join(root, '.local/bench-judge/answers.jsonl'))
  .option('--regenerate', 'generate answers even when the answers file exists', false)
  .option('--pools <path>', 'pool file of the engines', path.join(root, 'infra/pools/local-llama.json'))
  .option('--concurrency <n>', 'requests in flight during generation', intArg(1, 64), 3)
  .option('--max-tokens <n>', 'max_tokens per answer', intArg(1, 1024), 32)
  .option('--grid-step <x>', 'step of the weight grid of the calibration (coarser overfits less)', numArg(0.01, 0.5), 0.25)
  .option('--llm-judge', "also ask the pool file's judge pool (real Gemma 3 270M) about every evaluation-split answer", false)
  .option('--model-dir <dir>', 'all-MiniLM-L6-v2 files (infra/local/models.sh)', defaultModelDir())
  .option('--summary <path>', 'write the results as JSON here');

interface Options {
  input: string;
  questions: number;
  otherContextPercent: number;
  calibrationPercent: number;
  answers: string;
  regenerate: boolean;
  pools: string;
  concurrency: number;
  maxTokens: number;
  modelDir: string;
  gridStep: number;
  llmJudge: boolean;
  summary?: string;
}

async function answers(o: Options): Promise<{ items: GeneratedAnswer[]; source: string; generation_seconds: number | null }> {
  if (existsSync(o.answers) && !o.regenerate) {
    const items = readFileSync(o.answers, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as GeneratedAnswer);
    console.log(`[bench-judge] ${items.length} answers read from ${path.relative(root, o.answers)} (--regenerate to make new ones)`);
    return { items, source: `read from ${path.relative(root, o.answers)}`, generation_seconds: null };
  }
  const questions = pickQuestions(await readSquadFile(o.input), o.questions, o.otherContextPercent);
  const pools = readPools(o.pools);
  console.log(`[bench-judge] starting the llama.cpp engines (S ${pools.S.model}, M ${pools.M.model})`);
  const engines = await startLlmEngines(root, path.join(root, '.local/logs/bench-judge'));
  const started = performance.now();
  try {
    const items = await generateAnswers(questions, pools, {
      concurrency: o.concurrency,
      maxTokens: o.maxTokens,
      onAnswer: (_a, done) => {
        if (done % 20 === 0 || done === questions.length) console.log(`[bench-judge] ${done}/${questions.length} answered`);
      },
    });
    mkdirSync(path.dirname(o.answers), { recursive: true });
    writeFileSync(o.answers, items.map((a) => JSON.stringify(a)).join('\n') + '\n');
    return { items, source: `generated by the real engines into ${path.relative(root, o.answers)}`, generation_seconds: (performance.now() - started) / 1000 };
  } finally {
    await Promise.all(engines.map((e) => e.stop()));
  }
}

const fmt = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(3));
const row = (name: string, f: AgreementFigures) =>
  `${name.padEnd(44)} n=${String(f.n).padStart(4)}  kappa ${fmt(f.kappa)}  precision(PASS) ${fmt(f.precision)}  recall(PASS) ${fmt(f.recall)}  agreement ${fmt(f.observed_agreement)}`;

async function main(o: Options): Promise<void> {
  const { items, source, generation_seconds } = await answers(o);
  const model = await loadEmbeddingModel({ modelDir: o.modelDir });
  const scored: (LabelledScores & { groundedness: number; f1: number; split: 'calibration' | 'evaluation'; tier: string; context_kind: string })[] = [];
  const t0 = performance.now();
  for (const a of items) {
    const s = await scoreCompletion(
      { prompt: a.question, answer: a.text, contextTexts: [a.context], finishReason: a.finish_reason },
      DEFAULT_JUDGE_WEIGHTS,
      model,
    );
    const { f1 } = scoreAnswer(a.text, a.answers);
    scored.push({
      id: a.id,
      scores: { lexical: s.lexical, semantic: s.semantic, relevance: s.relevance, completeness: s.completeness, refusal: s.refusal },
      correct: f1 >= 0.5,
      groundedness: groundedness(a.text, [a.context]),
      f1,
      split: splitOf(a.id, o.calibrationPercent),
      tier: a.tier,
      context_kind: a.context_kind,
    });
  }
  const scoringMsPerAnswer = (performance.now() - t0) / Math.max(1, items.length);
  const cal = scored.filter((s) => s.split === 'calibration');
  const evalSet = scored.filter((s) => s.split === 'evaluation');
  const { weights, figures: calFigures } = calibrate(cal, `${DEFAULT_JUDGE_WEIGHTS.version}-bench`, o.gridStep);
  const heldOut = evaluateWeights(evalSet, weights);
  // The second fold: calibrated on the evaluation split, reported on the calibration split (again never on its own data).
  const reverse = calibrate(evalSet, `${DEFAULT_JUDGE_WEIGHTS.version}-bench-reverse`, o.gridStep);
  const reverseHeldOut = evaluateWeights(cal, reverse.weights);
  const inForce = evaluateWeights(evalSet, DEFAULT_JUDGE_WEIGHTS);
  // The judge before issue 11: PASS when lexical groundedness >= 0.5, nothing else.
  const before = agreementFigures(confusion(evalSet.map((s) => ({ pass: s.groundedness >= 0.5, correct: s.correct }))));
  const byGroup = (key: 'tier' | 'context_kind') =>
    Object.fromEntries(
      [...new Set(evalSet.map((s) => s[key]))].sort().map((g) => [
        g,
        evaluateWeights(
          evalSet.filter((s) => s[key] === g),
          weights,
        ),
      ]),
    );

  const positives = (xs: typeof scored) => xs.filter((s) => s.correct).length;
  console.log(
    `\nanswers: ${items.length} (${source}); correct (F1 >= 0.5): ${positives(scored)}; mean F1 ${fmt(scored.reduce((t, s) => t + s.f1, 0) / scored.length)}`,
  );
  console.log(`splits: calibration ${cal.length} (${positives(cal)} correct), evaluation ${evalSet.length} (${positives(evalSet)} correct)`);
  console.log(`calibrated weights: ${JSON.stringify(weights)}`);
  console.log(row('calibration split, calibrated weights (fit)', calFigures));
  console.log(row('EVALUATION split, calibrated weights', heldOut));
  console.log(row('evaluation split, weights in force', inForce));
  console.log(`reverse fold weights: ${JSON.stringify(reverse.weights)}`);
  console.log(row('CALIBRATION split, reverse-fold weights', reverseHeldOut));
  console.log(row('evaluation split, judge before (lexical>=0.5)', before));
  for (const [k, f] of Object.entries(byGroup('tier'))) console.log(row(`  evaluation, tier ${k}`, f));
  for (const [k, f] of Object.entries(byGroup('context_kind'))) console.log(row(`  evaluation, context ${k}`, f));
  console.log(`scoring: ${scoringMsPerAnswer.toFixed(1)} ms per answer (lexical + semantic on ${model.name}, in process)`);

  let llm: Record<string, unknown> | null = null;
  if (o.llmJudge) {
    const withLlm = await llmJudgeScores(o, items, new Set(evalSet.map((s) => s.id)));
    const judged = evalSet.filter((s) => withLlm.has(s.id));
    const alone = agreementFigures(confusion(judged.map((s) => ({ pass: !s.scores.refusal && withLlm.get(s.id)! >= 0.5, correct: s.correct }))));
    const mixed = agreementFigures(
      confusion(
        judged.map((s) => ({
          pass: !s.scores.refusal && combineScores({ ...s.scores, llm: withLlm.get(s.id)! }, DEFAULT_JUDGE_WEIGHTS).quality >= DEFAULT_JUDGE_WEIGHTS.threshold,
          correct: s.correct,
        })),
      ),
    );
    console.log(row('evaluation split, LLM judge alone (P(yes) >= 0.5)', alone));
    console.log(row('evaluation split, weights in force + LLM judge', mixed));
    llm = { answered: judged.length, asked: evalSet.length, llm_alone: alone, in_force_with_llm: mixed };
  }

  if (o.summary) {
    mkdirSync(path.dirname(path.resolve(o.summary)), { recursive: true });
    writeFileSync(
      o.summary,
      JSON.stringify(
        {
          input: o.input,
          answers: {
            n: items.length,
            source,
            generation_seconds,
            correct: positives(scored),
            by_tier: countBy(items, 'tier'),
            by_context: countBy(items, 'context_kind'),
          },
          label: 'token F1 >= 0.5 against the gold answers (SQuAD v1.1 official normalisation)',
          splits: { calibration_percent: o.calibrationPercent, calibration: cal.length, evaluation: evalSet.length },
          calibrated_weights: weights,
          weights_in_force: DEFAULT_JUDGE_WEIGHTS,
          calibration_fit: calFigures,
          reverse_fold: { weights: reverse.weights, fit: reverse.figures, held_out: reverseHeldOut },
          grid_step: o.gridStep,
          evaluation: { calibrated: heldOut, in_force: inForce, judge_before: before, by_tier: byGroup('tier'), by_context: byGroup('context_kind') },
          llm_judge: llm,
          scoring_ms_per_answer: scoringMsPerAnswer,
          embeddings_model: model.name,
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`summary written to ${o.summary}`);
  }
}

/**
 * P(yes) of the pool file's judge pool for the answers in `ids`, on the real engine (started here, stopped after). The
 * request is the judge service's (one token, `logprobs` 10, the judge prompt template); written here because the
 * service's client is not importable from a tool (ADR 0004). Answers whose reply reads neither yes nor no are left out.
 */
async function llmJudgeScores(o: Options, items: readonly GeneratedAnswer[], ids: ReadonlySet<string>): Promise<Map<string, number>> {
  const file = JSON.parse(readFileSync(o.pools, 'utf8')) as { judge?: { model: string; url: string; prompt_template: string } };
  if (!file.judge) throw new Error(`${o.pools} has no judge section`);
  const template = judgePromptTemplateSchema.parse(JSON.parse(readFileSync(path.resolve(path.dirname(o.pools), file.judge.prompt_template), 'utf8')));
  console.log(`[bench-judge] starting the llama.cpp engines for the judge pool (${file.judge.model}, ${template.name}@${template.version})`);
  const engines = await startLlmEngines(root, path.join(root, '.local/logs/bench-judge'));
  const out = new Map<string, number>();
  try {
    let done = 0;
    for (const a of items.filter((x) => ids.has(x.id))) {
      const res = await fetch(`${file.judge.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: file.judge.model,
          prompt: renderJudgePrompt(template, { question: a.question, context: [a.context], answer: a.text }),
          max_tokens: 1,
          temperature: 0,
          logprobs: 10,
        }),
      });
      if (!res.ok) throw new Error(`judge pool: HTTP ${res.status}`);
      const p = yesProbability(await res.json());
      if (p) out.set(a.id, p.p_yes);
      if (++done % 20 === 0) console.log(`[bench-judge] LLM judge: ${done}/${ids.size}`);
    }
  } finally {
    await Promise.all(engines.map((e) => e.stop()));
  }
  return out;
}

function countBy<T>(xs: readonly T[], key: keyof T): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[String(x[key])] = (out[String(x[key])] ?? 0) + 1;
  return out;
}

program.action(async (o: Options) => main(o));
await program.parseAsync();
