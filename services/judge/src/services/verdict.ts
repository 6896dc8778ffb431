import type { Verdict } from '@llmgov/contracts';
import { maskPii } from '@llmgov/guardrails';

/** Released instead of an answer whose groundedness is below the bar. */
export const FALLBACK_TEXT = 'I could not find a grounded answer to this question in the available documents.';
/** finish_reason of a released fallback answer. */
export const FALLBACK_FINISH_REASON = 'fallback';

/** PII labels the guardrails library writes into masked text (`[EMAIL]`, ...). */
const PII_LABELS = ['EMAIL', 'CARD', 'SSN', 'PHONE', 'IBAN'] as const;

export interface VerdictInput {
  /** Model answer as completed. */
  text: string;
  /** finish_reason of the completion (stop, length, cache, ...). */
  finishReason: string;
  /** Groundedness score, 0..1. */
  groundedness: number;
  /** Minimum groundedness (0..1) for PASS. */
  minGroundedness: number;
}

export interface VerdictDecision {
  verdict: Verdict;
  /** Text released to the user. */
  finalText: string;
  /** finish_reason reported for the released text. */
  finishReason: string;
  piiFound: boolean;
  /** Machine-readable reasons, e.g. `pii:email`, `groundedness_below_0.5`. */
  reasons: string[];
}

/**
 * The judge's verdict rules, applied in this order:
 * 1. FAIL_PII when guardrails' `maskPii` masks anything in the answer: the masked text is released (the job
 *    still completes) with the original finish_reason and one `pii:<label>` reason per kind of PII found.
 * 2. PASS when groundedness >= minGroundedness: the answer is released unchanged.
 * 3. FALLBACK otherwise: FALLBACK_TEXT is released with finish_reason `fallback`.
 * PII is checked first because releasing PII is a policy breach whatever the quality.
 */
export function decideVerdict(input: VerdictInput): VerdictDecision {
  const masked = maskPii(input.text);
  if (masked.masked > 0) {
    return { verdict: 'FAIL_PII', finalText: masked.text, finishReason: input.finishReason, piiFound: true, reasons: piiReasons(input.text, masked.text) };
  }
  if (input.groundedness >= input.minGroundedness) {
    return { verdict: 'PASS', finalText: input.text, finishReason: input.finishReason, piiFound: false, reasons: [] };
  }
  return {
    verdict: 'FALLBACK',
    finalText: FALLBACK_TEXT,
    finishReason: FALLBACK_FINISH_REASON,
    piiFound: false,
    reasons: [`groundedness_below_${input.minGroundedness}`],
  };
}

/** `pii:<label>` for each label that masking added to the text (labels already present in the original are not counted). */
function piiReasons(original: string, masked: string): string[] {
  const count = (s: string, label: string) => s.split(`[${label}]`).length - 1;
  const reasons = PII_LABELS.filter((l) => count(masked, l) > count(original, l)).map((l) => `pii:${l.toLowerCase()}`);
  return reasons.length > 0 ? reasons : ['pii'];
}
