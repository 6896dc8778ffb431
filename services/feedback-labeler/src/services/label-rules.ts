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

/** Labels compared with a judge verdict, as a 2x2 table: human label x (verdict is PASS). Counts. */
export interface AgreementTable {
  goodPass: number;
  goodNotPass: number;
  badPass: number;
  badNotPass: number;
}

/** Judge-vs-human agreement over labels that have a verdict. */
export interface AgreementStats {
  /** Labels compared (count). */
  compared: number;
  /** Labels that agree with the judge (count). */
  agreed: number;
  /** agreed / compared (0..1), null when nothing was compared. */
  rate: number | null;
  /**
   * Cohen's kappa (Cohen 1960): (p_o - p_e) / (1 - p_e), with p_o the observed agreement rate and
   * p_e = P(GOOD)·P(PASS) + P(BAD)·P(not PASS) the agreement expected by chance from the marginals.
   * -1..1 (1 perfect, 0 chance level); null when nothing was compared or p_e = 1 (one class only on both sides).
   */
  kappa: number | null;
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** Agreement rate and Cohen's kappa from the 2x2 table. */
export function agreementStats(t: AgreementTable): AgreementStats {
  const n = t.goodPass + t.goodNotPass + t.badPass + t.badNotPass;
  const agreed = t.goodPass + t.badNotPass;
  if (n === 0) return { compared: 0, agreed: 0, rate: null, kappa: null };
  const po = agreed / n;
  const pGood = (t.goodPass + t.goodNotPass) / n;
  const pPass = (t.goodPass + t.badPass) / n;
  const pe = pGood * pPass + (1 - pGood) * (1 - pPass);
  return { compared: n, agreed, rate: round4(po), kappa: pe === 1 ? null : round4((po - pe) / (1 - pe)) };
}
