import { checkGate, describeGateFailures, type GateFigures, type GateOutcome } from '@llmgov/policy';
import { GoldenRepository, GoldenStoreError, PolicyRepository, type Pool } from '@llmgov/persistence';

/** What the gates of a candidate version say before it is activated. */
export interface GateVerdict {
  /** True when every gate holds, or there is nothing to check. */
  passed: boolean;
  /** Why nothing was compared (no gates; no active version; the candidate is the active version), else null. */
  skipped: string | null;
  outcomes: (GateOutcome & { baseline_run: number | null; candidate_run: number | null; golden_version: number | null })[];
  /** One line per refusal reason: a missing golden set or eval run, or a metric beyond its tolerance. */
  problems: string[];
}

const figuresOf = (summary: Record<string, unknown>): GateFigures => {
  const o = (summary.overall ?? {}) as Partial<Record<keyof GateFigures, number | null>>;
  const n = (x: number | null | undefined) => (typeof x === 'number' ? x : NaN);
  return { exact_match: n(o.exact_match), f1: n(o.f1), judge_pass_rate: n(o.judge_pass_rate), hallucination_rate: n(o.hallucination_rate) };
};

/**
 * Checks the regression gates the candidate version's document declares (`gates:`) against the namespace's active
 * version. For each gate it takes the newest eval run (`llmgov eval`) of the golden set, at the set's current version,
 * under the active version and under the candidate, and compares their overall figures with checkGate. It does not run
 * evals itself: a missing run is a refusal that says which `llmgov eval` to run (an eval of real models takes minutes,
 * so activation stays an instant, explicit step). A gate whose golden set does not exist also refuses.
 */
export async function evaluateGates(pool: Pool, namespace: string, candidate: number): Promise<GateVerdict> {
  const policies = new PolicyRepository(pool, namespace);
  const none = (skipped: string): GateVerdict => ({ passed: true, skipped, outcomes: [], problems: [] });
  // An unknown version has no gates: activating it then fails with the repository's own message (which lists the versions).
  if (!(await policies.list()).some((v) => v.version === candidate)) return none(`version ${candidate} does not exist`);
  const gates = (await policies.show(candidate)).document.gates ?? [];
  if (gates.length === 0) return none(`version ${candidate} declares no gates`);
  const active = await policies.activeHead();
  if (!active) return none('no version is active: nothing to compare with');
  if (active.version === candidate) return none(`version ${candidate} is already active`);
  const golden = new GoldenRepository(pool);
  const verdict: GateVerdict = { passed: true, skipped: null, outcomes: [], problems: [] };
  for (const gate of gates) {
    let set;
    try {
      set = await golden.get(gate.golden);
    } catch (err) {
      if (!(err instanceof GoldenStoreError)) throw err;
      verdict.problems.push(`golden set ${gate.golden}: does not exist (create it with llmgov golden create --name ${gate.golden} --from FILE)`);
      continue;
    }
    const evalHint = (v: number) => `llmgov eval --golden ${gate.golden} --policy ${v} --namespace ${namespace}`;
    const [base, cand] = [
      await golden.latestRun(set.id, set.version, namespace, active.version),
      await golden.latestRun(set.id, set.version, namespace, candidate),
    ];
    for (const [run, v, who] of [
      [base, active.version, 'the active version'],
      [cand, candidate, 'the candidate'],
    ] as const)
      if (!run) verdict.problems.push(`golden set ${gate.golden} v${set.version}: no eval run of ${who} (version ${v}); run: ${evalHint(v)}`);
    if (!base || !cand) continue;
    const outcome = checkGate(gate, figuresOf(base.summary), figuresOf(cand.summary));
    verdict.outcomes.push({ ...outcome, baseline_run: base.id, candidate_run: cand.id, golden_version: set.version });
    for (const line of describeGateFailures(outcome))
      verdict.problems.push(
        `golden set ${gate.golden} v${set.version} (eval run ${base.id} of version ${active.version} vs run ${cand.id} of version ${candidate}): ${line}`,
      );
  }
  verdict.passed = verdict.problems.length === 0;
  return verdict;
}
