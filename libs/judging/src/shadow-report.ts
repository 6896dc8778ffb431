import { percentile } from './eval-metrics.js';

/**
 * The report of a shadow run with judged diffs (issue 12 §5, `llmgov shadow`): past judged jobs (the baseline, what
 * users were answered) re-run under a candidate version, both answers judged, compared per tenant, route and intent.
 * Pure: the CLI gathers the records and writes the files.
 */

/** One side of one job: what the judge and the ledger say about an answer. */
export interface ShadowSide {
  /** The judge's verdict (PASS, FLAG, FAIL…); null when the answer was not judged. */
  verdict: string | null;
  /** The judge's combined quality (0..1), else its groundedness; null when not judged. */
  quality: number | null;
  /** The released answer text; null when there is none. */
  text: string | null;
  /** End to end, from validation to completion, ms; null when no completion was seen. */
  latency_ms: number | null;
  /** The completion's cost (cost-ledger kind COMPLETION, last attempt billed), USD; null when none was seen. */
  cost_usd: number | null;
  tier: string | null;
  model: string | null;
  policy_version: number | null;
}

/** A job of the run: its baseline answer and its candidate copy's (null until the copy is judged). */
export interface ShadowPair {
  job_id: string;
  tenant: string;
  route: string;
  /** The classified intent (the routed record's `intent:<name>` reason); null when unclassified. */
  intent: string | null;
  prompt: string;
  baseline: ShadowSide;
  candidate: ShadowSide | null;
}

/** Figures of one side over the paired jobs of a group. */
export interface ShadowSideFigures {
  /** Mean judge quality (0..1). */
  mean_quality: number;
  /** Share of PASS verdicts (0..1). */
  pass_rate: number;
  /** Mean completion cost per job, USD (jobs with a cost record; NaN when none). */
  cost_per_request_usd: number;
  /** Nearest-rank percentiles of end-to-end latency, ms (NaN when no latency was seen). */
  latency_p50_ms: number;
  latency_p95_ms: number;
}

/** One group (a tenant, route and intent; or all jobs). */
export interface ShadowGroupFigures {
  tenant: string;
  route: string;
  intent: string;
  /** Jobs of the run in the group. */
  jobs: number;
  /** Jobs judged on both sides: the figures below are over these. */
  paired: number;
  baseline: ShadowSideFigures;
  candidate: ShadowSideFigures;
  /** candidate − baseline, field by field. */
  delta: ShadowSideFigures;
  /** Paired jobs whose answer text differs (after trimming and collapsing whitespace). */
  answers_changed: number;
  /** Paired jobs whose verdict differs. */
  verdicts_changed: number;
}

/** A paired job whose candidate answer scored worse, side by side. */
export interface ShadowRegression {
  job_id: string;
  tenant: string;
  route: string;
  intent: string;
  prompt: string;
  /** candidate − baseline quality (negative). */
  quality_delta: number;
  baseline: { text: string | null; verdict: string | null; quality: number | null; tier: string | null };
  candidate: { text: string | null; verdict: string | null; quality: number | null; tier: string | null };
}

/** The whole report (the JSON file; the Markdown page renders it). */
export interface ShadowRunReport {
  /** Identifies the pair of version tuples compared: two reports with the same key compared the same versions. */
  key: string;
  run_id: string;
  created_at: string;
  window: { from: string; to: string };
  filters: { tenant: string | null; route: string | null; sample: number | null };
  /** What served the baseline answers, and what the candidate is: model, prompt, index and policy version. */
  versions: { baseline: Record<string, unknown>; candidate: Record<string, unknown> };
  overall: ShadowGroupFigures;
  groups: ShadowGroupFigures[];
  /** The largest regressions, worst first. */
  regressions: ShadowRegression[];
  /** Jobs whose copy was not judged within the wait (shed by the capacity gate, not inferred by the version, or late). */
  not_judged: string[];
}

const UNCLASSIFIED = 'unclassified';
const ALL = '*';

const normalise = (t: string | null): string => (t ?? '').trim().replace(/\s+/g, ' ');
const mean = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
const nums = (xs: (number | null)[]): number[] => xs.filter((x): x is number => x !== null && Number.isFinite(x));

function sideFigures(sides: ShadowSide[]): ShadowSideFigures {
  const lat = nums(sides.map((s) => s.latency_ms));
  return {
    mean_quality: mean(nums(sides.map((s) => s.quality))),
    pass_rate: sides.length === 0 ? NaN : sides.filter((s) => s.verdict === 'PASS').length / sides.length,
    cost_per_request_usd: mean(nums(sides.map((s) => s.cost_usd))),
    latency_p50_ms: percentile(lat, 50),
    latency_p95_ms: percentile(lat, 95),
  };
}

const judged = (s: ShadowSide | null): s is ShadowSide => s !== null && s.verdict !== null;
const isPaired = (p: ShadowPair): p is ShadowPair & { candidate: ShadowSide } => judged(p.baseline) && judged(p.candidate);

function groupFigures(tenant: string, route: string, intent: string, pairs: ShadowPair[]): ShadowGroupFigures {
  const paired = pairs.filter(isPaired);
  const baseline = sideFigures(paired.map((p) => p.baseline));
  const candidate = sideFigures(paired.map((p) => p.candidate));
  const delta = Object.fromEntries(
    (Object.keys(baseline) as (keyof ShadowSideFigures)[]).map((k) => [k, candidate[k] - baseline[k]]),
  ) as unknown as ShadowSideFigures;
  return {
    tenant,
    route,
    intent,
    jobs: pairs.length,
    paired: paired.length,
    baseline,
    candidate,
    delta,
    answers_changed: paired.filter((p) => normalise(p.baseline.text) !== normalise(p.candidate.text)).length,
    verdicts_changed: paired.filter((p) => p.baseline.verdict !== p.candidate.verdict).length,
  };
}

/**
 * Builds the report from the run's pairs: overall and per (tenant, route, intent) figures over the jobs judged on both
 * sides, the answers and verdicts that changed, and the `maxRegressions` paired jobs whose candidate did worst: a
 * PASS that is no longer a PASS first, then by quality delta, most negative first (ties by job id, so the order is
 * stable). A job whose quality and verdict did not get worse is no regression.
 */
export function buildShadowReport(input: {
  key: string;
  runId: string;
  createdAt: Date;
  window: { from: Date; to: Date };
  filters: ShadowRunReport['filters'];
  versions: ShadowRunReport['versions'];
  pairs: ShadowPair[];
  maxRegressions?: number;
}): ShadowRunReport {
  const groups = new Map<string, ShadowPair[]>();
  for (const p of input.pairs) {
    const k = JSON.stringify([p.tenant, p.route, p.intent ?? UNCLASSIFIED]);
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  const regressions = input.pairs
    .filter(isPaired)
    .map((p) => {
      const delta = (p.candidate.quality ?? 0) - (p.baseline.quality ?? 0);
      const lostPass = p.baseline.verdict === 'PASS' && p.candidate.verdict !== 'PASS';
      return { p, delta, lostPass };
    })
    .filter((r) => r.lostPass || r.delta < 0)
    .sort((a, b) => Number(b.lostPass) - Number(a.lostPass) || a.delta - b.delta || (a.p.job_id < b.p.job_id ? -1 : 1))
    .slice(0, input.maxRegressions ?? 5)
    .map(({ p, delta }) => ({
      job_id: p.job_id,
      tenant: p.tenant,
      route: p.route,
      intent: p.intent ?? UNCLASSIFIED,
      prompt: p.prompt,
      quality_delta: delta,
      baseline: { text: p.baseline.text, verdict: p.baseline.verdict, quality: p.baseline.quality, tier: p.baseline.tier },
      candidate: { text: p.candidate.text, verdict: p.candidate.verdict, quality: p.candidate.quality, tier: p.candidate.tier },
    }));
  return {
    key: input.key,
    run_id: input.runId,
    created_at: input.createdAt.toISOString(),
    window: { from: input.window.from.toISOString(), to: input.window.to.toISOString() },
    filters: input.filters,
    versions: input.versions,
    overall: groupFigures(ALL, ALL, ALL, input.pairs),
    groups: [...groups.entries()]
      .map(([k, pairs]) => {
        const [tenant, route, intent] = JSON.parse(k) as [string, string, string];
        return groupFigures(tenant, route, intent, pairs);
      })
      .sort((a, b) => a.tenant.localeCompare(b.tenant) || a.route.localeCompare(b.route) || a.intent.localeCompare(b.intent)),
    regressions,
    not_judged: input.pairs.filter((p) => judged(p.baseline) && !judged(p.candidate)).map((p) => p.job_id),
  };
}

const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const signed = (x: number, digits: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(digits)}` : '-');
/** Markdown table cells: no pipes or line breaks from answers or prompts, at most `max` characters. */
const cell = (t: string | null, max = 160): string => {
  const s = normalise(t).replace(/\|/g, '\\|');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s || '(empty)';
};

function groupRow(g: ShadowGroupFigures): string {
  const b = g.baseline;
  const c = g.candidate;
  const d = g.delta;
  return `| ${g.tenant} | ${g.route} | ${g.intent} | ${g.paired}/${g.jobs} | ${fmt(b.mean_quality, 3)} → ${fmt(c.mean_quality, 3)} (${signed(d.mean_quality, 3)}) | ${fmt(b.pass_rate * 100, 1)} → ${fmt(c.pass_rate * 100, 1)} % | ${fmt(b.cost_per_request_usd * 1e6, 0)} → ${fmt(c.cost_per_request_usd * 1e6, 0)} (${signed(d.cost_per_request_usd * 1e6, 0)}) | ${fmt(b.latency_p50_ms, 0)} → ${fmt(c.latency_p50_ms, 0)} | ${fmt(b.latency_p95_ms, 0)} → ${fmt(c.latency_p95_ms, 0)} | ${g.answers_changed} |`;
}

/** The report as a Markdown page (the readable twin of the JSON file). Pure. */
export function shadowReportMarkdown(r: ShadowRunReport): string {
  const lines = [
    `# Shadow run ${r.run_id}`,
    '',
    `Report key \`${r.key}\` (the pair of version tuples below), created ${r.created_at}.`,
    `Window: ${r.window.from} to ${r.window.to}; tenant ${r.filters.tenant ?? 'all'}, route ${r.filters.route ?? 'all'}, sample ${r.filters.sample ?? 'all'}.`,
    '',
    '| version | baseline (what users were answered) | candidate |',
    '| --- | --- | --- |',
    ...[...new Set([...Object.keys(r.versions.baseline), ...Object.keys(r.versions.candidate)])]
      .sort()
      .map((k) => `| ${k} | ${cell(JSON.stringify(r.versions.baseline[k] ?? null), 200)} | ${cell(JSON.stringify(r.versions.candidate[k] ?? null), 200)} |`),
    '',
    '## Baseline → candidate, over the jobs judged on both sides',
    '',
    '| tenant | route | intent | paired/jobs | quality (Δ) | PASS rate | cost per request, µUSD (Δ) | p50 ms | p95 ms | answers changed |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    groupRow({ ...r.overall, tenant: '**all**', route: '', intent: '' }),
    ...r.groups.map(groupRow),
    '',
    `## Largest regressions (${r.regressions.length})`,
    '',
  ];
  if (r.regressions.length === 0) lines.push('None: no paired answer scored worse.', '');
  for (const g of r.regressions) {
    lines.push(
      `### ${g.tenant} / ${g.route} / ${g.intent}: job ${g.job_id}, quality ${signed(g.quality_delta, 3)}`,
      '',
      `Prompt: ${cell(g.prompt, 400)}`,
      '',
      '| | answer | verdict | quality | tier |',
      '| --- | --- | --- | --- | --- |',
      `| baseline | ${cell(g.baseline.text, 400)} | ${g.baseline.verdict ?? '-'} | ${fmt(g.baseline.quality ?? NaN, 3)} | ${g.baseline.tier ?? '-'} |`,
      `| candidate | ${cell(g.candidate.text, 400)} | ${g.candidate.verdict ?? '-'} | ${fmt(g.candidate.quality ?? NaN, 3)} | ${g.candidate.tier ?? '-'} |`,
      '',
    );
  }
  if (r.not_judged.length > 0)
    lines.push(
      `Not judged on the candidate side (${r.not_judged.length}): ${r.not_judged.slice(0, 20).join(', ')}${r.not_judged.length > 20 ? ', …' : ''}`,
      '',
    );
  return lines.join('\n');
}
