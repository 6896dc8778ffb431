import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { reword, sameAnswer } from '@llmgov/policy';
import { repoRoot } from '@llmgov/platform';
import type { SquadQuestion } from './squad.js';

/**
 * The demo's cache workload: after the questions, some are asked again, verbatim (`<id>~repeat`, the exact layer) or
 * reworded (`<id>~reword`, the semantic layer), chosen by a stable hash of the question id. The rewording is libs/policy
 * `reword` (a question-word substitution and a wrapper such as "Can you tell me …?"), documented there. Near-misses
 * need no extra requests: the demo's questions come a few per paragraph, so a question often finds a sibling about the
 * same paragraph, with another answer, already cached.
 */

export type QuestionKind = 'original' | 'repeat' | 'reword';

/** The kind of a workload question by its id. */
export const kindOf = (id: string): QuestionKind => (id.endsWith('~repeat') ? 'repeat' : id.endsWith('~reword') ? 'reword' : 'original');

/**
 * The follow-ups of `questions`: one in `repeatEvery` asked again verbatim, another one in `rewordEvery` reworded (by a
 * hash of the id, so the two sets are disjoint when both are 5, and the same on every run). 0 turns a kind off.
 */
export function followUps(questions: readonly SquadQuestion[], repeatEvery: number, rewordEvery: number): SquadQuestion[] {
  const out: SquadQuestion[] = [];
  for (const q of questions) {
    const h = createHash('sha256').update(`follow-up:${q.id}`).digest().readUInt32BE(0);
    if (repeatEvery > 0 && h % repeatEvery === 0) out.push({ ...q, id: `${q.id}~repeat` });
    else if (rewordEvery > 0 && (h >>> 8) % rewordEvery === 0) out.push({ ...q, id: `${q.id}~reword`, question: reword(q.question, q.id) });
  }
  return out;
}

/** A semantic hit as the router records it (SemanticCacheRecords.getHits). */
export interface RecordedHit {
  source_prompt: string;
  similarity: number;
  threshold: number;
  route: string;
}

export interface CacheSummary {
  /** Answers served by the cache rule (`<layer>_cache_hit_meets_quality→serve_cache`), and by the degrade ladder's serve_cache step. */
  exact_hits: number;
  semantic_hits: number;
  degrade_hits: number;
  /** Semantic hits whose cached answer came from a question with other gold answers (SQuAD normalisation). */
  semantic_false_hits: number;
  semantic_false_hit_rate: number;
  /** Semantic hits whose source question the demo did not ask (e.g. cached by an earlier run): not judged. */
  semantic_unknown_source: number;
  semantic_similarity_p50: number;
  /** Threshold in use per tenant/route, as the router recorded it with a hit. */
  thresholds: Record<string, number>;
  by_kind: Record<QuestionKind, { asked: number; exact: number; semantic: number }>;
  /** Up to 10 false hits: the asking question, the cached answer's source and the similarity. */
  false_hit_examples: { asked: string; source: string; similarity: number }[];
}

/** The gold-answer lists of each question text of a workload (a text asked with different answers has several). */
export function goldAnswersByText(workload: readonly SquadQuestion[]): Map<string, string[][]> {
  const byText = new Map<string, string[][]>();
  for (const q of workload) {
    const list = byText.get(q.question) ?? [];
    list.push(q.answers);
    byText.set(q.question, list);
  }
  return byText;
}

/**
 * Whether a semantic hit served a wrong answer: `undefined` when its source prompt is no question of the workload (not
 * judged); true when some question with that text has gold answers sharing none with the asking question's.
 */
export function isFalseSemanticHit(sourcePrompt: string, askedAnswers: readonly string[], byText: ReadonlyMap<string, string[][]>): boolean | undefined {
  const sources = byText.get(sourcePrompt);
  if (!sources) return undefined;
  return !sources.every((answers) => sameAnswer(answers, askedAnswers));
}

/**
 * Counts cache hits by layer and workload kind, and judges each semantic hit against the gold answers: the hit is false
 * when the source question's gold answers and the asking question's share none. A source prompt is matched to a
 * workload question by its text (questions with the same text and different answers are counted as false).
 */
export function cacheSummary(
  finals: readonly { jobId: string; question: SquadQuestion; reasons: readonly string[]; completed: boolean }[],
  hits: ReadonlyMap<string, RecordedHit>,
  workload: readonly SquadQuestion[],
): CacheSummary {
  const byText = goldAnswersByText(workload);
  const by_kind: CacheSummary['by_kind'] = {
    original: { asked: 0, exact: 0, semantic: 0 },
    repeat: { asked: 0, exact: 0, semantic: 0 },
    reword: { asked: 0, exact: 0, semantic: 0 },
  };
  let exact = 0;
  let semantic = 0;
  let degrade = 0;
  let falseHits = 0;
  let unknown = 0;
  const similarities: number[] = [];
  const thresholds: Record<string, number> = {};
  const examples: CacheSummary['false_hit_examples'] = [];
  for (const f of finals) {
    const kind = kindOf(f.question.id);
    by_kind[kind].asked++;
    if (!f.completed) continue;
    if (f.reasons.includes('exact_cache_hit_meets_quality→serve_cache')) {
      exact++;
      by_kind[kind].exact++;
    } else if (f.reasons.includes('semantic_cache_hit_meets_quality→serve_cache')) {
      semantic++;
      by_kind[kind].semantic++;
      const hit = hits.get(f.jobId);
      if (!hit) {
        unknown++;
        continue;
      }
      similarities.push(hit.similarity);
      thresholds[`${f.question.tenantId}/${hit.route}`] = hit.threshold;
      const falseHit = isFalseSemanticHit(hit.source_prompt, f.question.answers, byText);
      if (falseHit === undefined) unknown++;
      else if (falseHit) {
        falseHits++;
        if (examples.length < 10) examples.push({ asked: f.question.question, source: hit.source_prompt, similarity: hit.similarity });
      }
    } else if (f.reasons.some((r) => r.endsWith('→serve_cache'))) degrade++;
  }
  similarities.sort((a, b) => a - b);
  const judged = semantic - unknown;
  return {
    exact_hits: exact,
    semantic_hits: semantic,
    degrade_hits: degrade,
    semantic_false_hits: falseHits,
    semantic_false_hit_rate: judged > 0 ? falseHits / judged : Number.NaN,
    semantic_unknown_source: unknown,
    semantic_similarity_p50: similarities.length > 0 ? similarities[Math.ceil(similarities.length / 2) - 1]! : Number.NaN,
    thresholds,
    by_kind,
    false_hit_examples: examples,
  };
}

/**
 * Calibrates the semantic-cache threshold of `routes` of every tenant from the SQuAD file's gold answers with the
 * operator CLI (`llmgov cache calibrate --keep-current`: a run on the same file keeps the stored threshold instead of
 * embedding the questions again), and prints it. `namespace`: the policy namespace whose active policy has the routes
 * (default: the CLI's, `default`).
 * @throws Error with the CLI's message (for example `not_calibratable`, or a route the active policy lacks).
 */
export async function calibrateSemanticCache(tenants: readonly string[], routes: readonly string[], input: string, namespace?: string): Promise<void> {
  const cli = path.resolve(repoRoot(), 'tools/llmgov/dist/src/main.js');
  const args = [
    'cache',
    'calibrate',
    '--tenant',
    tenants.join(','),
    '--route',
    routes.join(','),
    '--from',
    input,
    '--keep-current',
    '--json',
    ...(namespace ? ['--namespace', namespace] : []),
  ];
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(process.execPath, [cli, ...args], { maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    throw new Error(`llmgov ${args.join(' ')}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`, { cause: err });
  }
  const c = (JSON.parse(stdout) as { calibration: { threshold: number; hits: number; falseHits: number; falseHitUpperBound: number; pairs: number } })
    .calibration;
  console.log(
    `semantic cache: threshold ${c.threshold.toFixed(4)} for ${tenants.join(',')} × ${routes.join(',')} (llmgov cache calibrate: ${c.pairs} labelled lookups, ${c.hits} hits, ${c.falseHits} false, bound ${(100 * c.falseHitUpperBound).toFixed(2)} %)`,
  );
}
