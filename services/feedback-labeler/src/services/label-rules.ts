import { labelAgreementStats, type LabelAgreementStats, type LabelAgreementTable } from '@llmgov/judging';
import type { FeedbackKind, Label, LabelSource } from '@llmgov/contracts';

/**
 * The label a feedback signal gives the answer, and whether the signal was explicit:
 * THUMBS_UP -> GOOD/EXPLICIT, COPY -> GOOD/IMPLICIT (the user kept the answer);
 * THUMBS_DOWN, CORRECTION -> BAD/EXPLICIT; REGENERATE, ABANDON -> BAD/IMPLICIT (the user did not accept it).
 */
export function labelFor(kind: FeedbackKind): { label: Label; source: LabelSource } {
  switch (kind) {
    case 'THUMBS_UP':
      return { label: 'GOOD', source: 'EXPLICIT' };
    case 'COPY':
      return { label: 'GOOD', source: 'IMPLICIT' };
    case 'THUMBS_DOWN':
    case 'CORRECTION':
      return { label: 'BAD', source: 'EXPLICIT' };
    case 'REGENERATE':
    case 'ABANDON':
      return { label: 'BAD', source: 'IMPLICIT' };
    default: {
      const unknown: never = kind;
      throw new Error(`unknown feedback kind ${String(unknown)}`);
    }
  }
}

/** True when the human label and the judge agree: GOOD with PASS, BAD with any other verdict (FAIL_*, FALLBACK). */
export function agreesWithJudge(label: Label, verdict: string): boolean {
  return (label === 'GOOD') === (verdict === 'PASS');
}

/**
 * The label table and the agreement statistics live in @llmgov/judging, shared with `llmgov feedback agreement`; these
 * names stay for the labeler's code.
 */
export type AgreementTable = LabelAgreementTable;
export type AgreementStats = LabelAgreementStats;
export const agreementStats = labelAgreementStats;
