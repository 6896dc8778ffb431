import { countPiiPlaceholders, detectPii, injectionScore, PII_LABELS, type PiiLabel } from '@llmgov/guardrails';

/**
 * Weight of each risk signal, in 0..1: the probability-like strength with which that signal alone marks a request as
 * risky. Hand-set by this project (November 2026), not fitted: one high-risk intent (0.6) or a card number or SSN (0.8)
 * alone passes a risk threshold of 0.5; an e-mail address or phone number alone (0.4) does not, two kinds together do.
 */
export const PII_RISK_WEIGHTS: Readonly<Record<PiiLabel, number>> = { EMAIL: 0.4, PHONE: 0.4, IBAN: 0.6, CARD: 0.8, SSN: 0.8 };
/** Weight of a request classified into an intent the policy declares `high_risk`. */
export const HIGH_RISK_INTENT_WEIGHT = 0.6;

export interface RiskInput {
  /** The request text, normalised (guardrails `normaliseText`); raw PII and maskPii's `[LABEL]` placeholders both count. */
  text: string;
  /** The classified intent and whether the policy declares it high risk. */
  intent: string;
  highRiskIntent: boolean;
  /**
   * An injection score already computed upstream, in 0..1 (the ingest-validator's `injection_score`, which also saw the
   * system prompt). The larger of it and this text's own score is used.
   */
  injectionScore?: number;
}

export interface RiskResult {
  /** In 0..1, rounded to 4 decimals; see {@link riskScore}. */
  risk: number;
  /**
   * Rule ids, in this order: `pii_<kind>` per PII kind found (`pii_email`, `pii_card`, `pii_ssn`, `pii_phone`,
   * `pii_iban`), `injection_score_<s>` when the injection score s > 0 (two decimals at most, e.g. `injection_score_0.8`),
   * `high_risk_intent:<name>`.
   */
  reasons: string[];
}

/**
 * Risk in 0..1 of a request: the noisy-OR of its signals (the noisy-OR model: Pearl, Probabilistic Reasoning in
 * Intelligent Systems, 1988, ch. 4), so independent signals add up without ever passing 1 and the result never falls when a signal is added:
 *
 *     risk = 1 − (1 − w_injection) · Π_{PII kinds found} (1 − w_kind) · (1 − w_intent)
 *
 * with w_injection = the guardrails injection score (max of this text's and the upstream one), w_kind from
 * {@link PII_RISK_WEIGHTS} (once per kind, however many matches), and w_intent = {@link HIGH_RISK_INTENT_WEIGHT} when the
 * classified intent is declared `high_risk`, else 0. PII is found both raw (`detectPii`) and already masked upstream
 * (`countPiiPlaceholders`, the ingest-validator masks prompts before routing).
 */
export function riskScore(input: RiskInput): RiskResult {
  const reasons: string[] = [];
  let keep = 1; // Π (1 − w): the probability that no signal fires
  const raw = detectPii(input.text);
  const masked = countPiiPlaceholders(input.text);
  for (const label of PII_LABELS) {
    if ((raw[label] ?? 0) + (masked[label] ?? 0) === 0) continue;
    reasons.push(`pii_${label.toLowerCase()}`);
    keep *= 1 - PII_RISK_WEIGHTS[label];
  }
  const injection = Math.max(injectionScore(input.text), input.injectionScore ?? 0);
  if (injection > 0) {
    reasons.push(`injection_score_${Math.round(injection * 100) / 100}`);
    keep *= 1 - injection;
  }
  if (input.highRiskIntent) {
    reasons.push(`high_risk_intent:${input.intent}`);
    keep *= 1 - HIGH_RISK_INTENT_WEIGHT;
  }
  return { risk: Math.round((1 - keep) * 10_000) / 10_000, reasons };
}
