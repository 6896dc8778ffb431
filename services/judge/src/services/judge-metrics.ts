import { Injectable } from '@nestjs/common';
import { Counter, Histogram, type Registry } from 'prom-client';
import { PlatformMetrics } from '@llmgov/observability';
import type { Tier, Verdict } from '@llmgov/contracts';

/** The judge's own Prometheus metrics, registered on the service registry (labels are enums, never ids). */
@Injectable()
export class JudgeMetrics {
  /** `judge_verdicts_total{verdict,tier}`: completions judged. */
  readonly verdicts: Counter<'verdict' | 'tier'>;
  /** `judge_groundedness`: distribution of groundedness scores (0..1, unit-less). */
  readonly groundedness: Histogram;
  /** `judge_escalations_total{from_tier,to_tier}`: answers re-run on a higher tier (the escalation rate's numerator). */
  readonly escalations: Counter<'from_tier' | 'to_tier'>;
  /**
   * `judge_escalation_outcomes_total{outcome}`: finalised jobs that were escalated, by whether the released (best-judged)
   * answer reached the request's min_quality (`recovered`) or not (`not_recovered`).
   */
  readonly escalationOutcomes: Counter<'outcome'>;
  /**
   * `judge_escalation_reserved_usd_total{to_tier}`: worst-case cost reserved for escalated attempts, USD (the price of the
   * next tier for the previous prompt_tokens and the request's max_tokens; the billed cost is the cost-attributor's).
   */
  readonly escalationReservedUsd: Counter<'to_tier'>;
  /**
   * `judge_llm_calls_total{outcome}`: sampled answers sent to the LLM judge (`called`), skipped because the budget
   * reservation was refused (`budget_refused`), or whose call failed (`failed`).
   */
  readonly llmCalls: Counter<'outcome'>;

  constructor(metrics: PlatformMetrics) {
    const registers: Registry[] = [metrics.registry];
    this.verdicts = new Counter({ name: 'judge_verdicts_total', help: 'Completions judged, by verdict and tier', labelNames: ['verdict', 'tier'], registers });
    this.groundedness = new Histogram({
      name: 'judge_groundedness',
      help: 'Groundedness score of judged completions (0..1)',
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
      registers,
    });
    this.escalations = new Counter({
      name: 'judge_escalations_total',
      help: 'Answers below min_quality re-run on a higher tier, by tier escalated from and to',
      labelNames: ['from_tier', 'to_tier'],
      registers,
    });
    this.escalationOutcomes = new Counter({
      name: 'judge_escalation_outcomes_total',
      help: 'Escalated jobs finalised, by whether the released answer reached min_quality (recovered, not_recovered)',
      labelNames: ['outcome'],
      registers,
    });
    this.escalationReservedUsd = new Counter({
      name: 'judge_escalation_reserved_usd_total',
      help: 'Worst-case cost reserved for escalated attempts, USD, by tier escalated to',
      labelNames: ['to_tier'],
      registers,
    });
    this.llmCalls = new Counter({
      name: 'judge_llm_calls_total',
      help: 'Sampled answers for the LLM judge, by outcome (called, budget_refused, failed)',
      labelNames: ['outcome'],
      registers,
    });
  }

  record(verdict: Verdict, tier: Tier, groundedness: number): void {
    this.verdicts.inc({ verdict, tier });
    this.groundedness.observe(groundedness);
  }
}
