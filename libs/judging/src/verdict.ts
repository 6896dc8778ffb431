import { maskPii, PII_LABELS, safetyFlags } from '@llmgov/guardrails';

/** Released instead of an answer below the quality bar, or a refusal, when no escalation is possible. */
export const FALLBACK_TEXT = 'I could not find a grounded answer to this question in the available documents.';
/** finish_reason of a released fallback answer. */
export const FALLBACK_FINISH_REASON = 'fallback';
/** Released instead of an answer the safety lexicon flags. */
export const REFUSAL_TEXT = 'I cannot help with that request.';
/** finish_reason of a released safety refusal. */
export const REFUSAL_FINISH_REASON = 'content_filter';

/** The verdicts the judge gives (a subset of the contract's `Verdict` enum). */
export type JudgeVerdict = 'PASS' | 'ESCALATE' | 'FALLBACK' | 'REFUSE' | 'FAIL_PII';

export interface VerdictInput {
  /** Model answer as completed. */
  text: string;
  /** finish_reason of the completion (stop, length, cache, ...). */
  finishReason: string;
  /** Combined quality score (0..1). */
  quality: number;
  /** The model declined or said the context lacks the answer. */
  refusal: boolean;
  /** Quality (0..1) needed for PASS. */
  threshold: number;
  /** Whether a higher tier may still be tried (the cascade decides; false releases a fallback instead). */
  canEscalate: boolean;
}

export interface VerdictDecision {
  verdict: JudgeVerdict;
  /** Text released to the user (for ESCALATE, the fallback text in case no further attempt happens). */
  finalText: string;
  /** finish_reason reported for the released text. */
  finishReason: string;
  piiFound: boolean;
  /** Machine-readable reasons, e.g. `pii:email`, `safety:weapons`, `quality_below_0.5`, `model_refusal`. */
  reasons: string[];
}

/**
 * The judge's verdict rules, applied in this order:
 * 1. REFUSE when guardrails' safety lexicon flags the answer: REFUSAL_TEXT is released (finish_reason
 *    `content_filter`, the OpenAI term) with one `safety:<category>` reason per category. Unsafe text is never released,
 *    so this comes first.
 * 2. FAIL_PII when `maskPii` masks anything: the masked text is released (the job still completes) with the original
 *    finish_reason and one `pii:<label>` reason per kind found.
 * 3. PASS when the answer is not a refusal and quality >= threshold: released unchanged.
 * 4. Otherwise (a refusal, or quality below the bar) ESCALATE when `canEscalate`, else FALLBACK with FALLBACK_TEXT and
 *    finish_reason `fallback`. Reasons: `model_refusal` and/or `quality_below_<threshold>`.
 */
export function decideVerdict(input: VerdictInput): VerdictDecision {
  const hazards = safetyFlags(input.text);
  if (hazards.length > 0) {
    return { verdict: 'REFUSE', finalText: REFUSAL_TEXT, finishReason: REFUSAL_FINISH_REASON, piiFound: false, reasons: hazards.map((h) => `safety:${h}`) };
  }
  const masked = maskPii(input.text);
  if (masked.masked > 0) {
    return { verdict: 'FAIL_PII', finalText: masked.text, finishReason: input.finishReason, piiFound: true, reasons: piiReasons(input.text, masked.text) };
  }
  if (!input.refusal && input.quality >= input.threshold) {
    return { verdict: 'PASS', finalText: input.text, finishReason: input.finishReason, piiFound: false, reasons: [] };
  }
  const reasons = [...(input.refusal ? ['model_refusal'] : []), ...(input.quality < input.threshold ? [`quality_below_${input.threshold}`] : [])];
  return {
    verdict: input.canEscalate ? 'ESCALATE' : 'FALLBACK',
    finalText: FALLBACK_TEXT,
    finishReason: FALLBACK_FINISH_REASON,
    piiFound: false,
    reasons,
  };
}

/** `pii:<label>` for each label that masking added to the text (labels already present in the original are not counted). */
function piiReasons(original: string, masked: string): string[] {
  const count = (s: string, label: string) => s.split(`[${label}]`).length - 1;
  const reasons = PII_LABELS.filter((l) => count(masked, l) > count(original, l)).map((l) => `pii:${l.toLowerCase()}`);
  return reasons.length > 0 ? reasons : ['pii'];
}
