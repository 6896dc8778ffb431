import { contentTokens } from './lexical.js';

/**
 * Phrases with which a model declines to answer or says the context lacks the answer. Matched case-insensitively
 * anywhere in the answer. The list follows the refusal markers used in refusal-rate evaluations (e.g. the keyword list
 * of Zou et al. 2023, "Universal and Transferable Adversarial Attacks", GCG), plus the RAG-specific "not in the context".
 */
const REFUSAL_PATTERNS: readonly RegExp[] = [
  /\bi (do not|don't|dont) know\b/i,
  /\bi(?: am|'m) (sorry|afraid|unable|not able)\b/i,
  /\b(cannot|can't|can not|unable to) (answer|help|determine|find|provide)\b/i,
  /\bas an ai\b/i,
  /\b(is|are|was|were) not (mentioned|provided|stated|specified|given|included)\b/i,
  /\b(context|text|passage|document|documents) (does not|doesn't|do not) (say|mention|contain|provide|specify|state)\b/i,
  /\b(no|not enough|insufficient) information\b/i,
];

/** True when `answer` declines or reports that the answer is missing (see REFUSAL_PATTERNS). */
export function isRefusal(answer: string): boolean {
  return REFUSAL_PATTERNS.some((re) => re.test(answer));
}

/** Question forms that ask for a number, a date or a quantity. */
const NUMERIC_QUESTION = /\b(how (many|much|long|old|far|often)|what (year|percentage|percent|date|number)|in (what|which) year|when)\b/i;
const NUMBER_WORDS =
  /\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen|half|century|centuries|january|february|march|april|may|june|july|august|september|october|november|december)\b/i;

/**
 * Completeness of `answer` to `prompt`, 0..1 (unit-less), from three cheap checks multiplied together:
 * - 0 when the answer has no content tokens or is a refusal ({@link isRefusal});
 * - x 0.5 when the completion was cut off (`finish_reason` `length`);
 * - x 0.5 when the question asks for a number, date or quantity (how many, what year, when, ...) and the answer holds no
 *   digit and no number or month word: the expected answer type (the answer-type check of classic QA pipelines, e.g.
 *   Moldovan et al. 2000) is missing.
 */
export function completeness(prompt: string, answer: string, finishReason: string): number {
  if (contentTokens(answer).size === 0 || isRefusal(answer)) return 0;
  let score = 1;
  if (finishReason === 'length') score *= 0.5;
  if (NUMERIC_QUESTION.test(prompt) && !/\p{N}/u.test(answer) && !NUMBER_WORDS.test(answer)) score *= 0.5;
  return score;
}
