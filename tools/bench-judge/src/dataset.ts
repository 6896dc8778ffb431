import { createHash } from 'node:crypto';
import type { SquadFile } from '@llmgov/judging';

/** One question to answer: the context the model is given is the gold paragraph, or another paragraph of the article. */
export interface BenchQuestion {
  id: string;
  question: string;
  /** Gold answers (SQuAD's human labels). */
  answers: string[];
  /** The paragraph given to the model as its only context chunk. */
  context: string;
  /** `gold`: the question's own paragraph; `other`: another paragraph of the same article (a retrieval miss). */
  context_kind: 'gold' | 'other';
  tier: 'S' | 'M';
}

const percentile = (id: string, salt: string) => createHash('sha256').update(`${salt}:${id}`).digest().readUInt32BE(0) % 100;

/**
 * `n` questions spread evenly over the file (every k-th question in file order), with answers. Tiers alternate S, M.
 * A question gets another paragraph of its article as context when SHA-256(id) mod 100 < `otherContextPercent` (and the
 * article has another paragraph): a retrieval miss, after which a faithful model should decline and a judge should not
 * pass a made-up answer. Deterministic.
 */
export function pickQuestions(squad: SquadFile, n: number, otherContextPercent: number): BenchQuestion[] {
  const all: Omit<BenchQuestion, 'tier'>[] = [];
  for (const article of squad.data) {
    article.paragraphs.forEach((p, pi) => {
      for (const qa of p.qas) {
        if (qa.answers.length === 0) continue;
        const other = article.paragraphs.length > 1 && percentile(qa.id, 'context') < otherContextPercent;
        const context = other ? article.paragraphs[(pi + 1) % article.paragraphs.length]!.context : p.context;
        all.push({ id: qa.id, question: qa.question, answers: qa.answers.map((a) => a.text), context, context_kind: other ? 'other' : 'gold' });
      }
    });
  }
  const step = Math.max(1, Math.floor(all.length / n));
  const out: BenchQuestion[] = [];
  for (let i = 0; i < all.length && out.length < n; i += step) out.push({ ...all[i]!, tier: out.length % 2 === 0 ? 'S' : 'M' });
  return out;
}
