import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildShadowReport, shadowReportMarkdown, type ShadowPair, type ShadowSide } from './shadow-report.js';

const side = (o: Partial<ShadowSide> = {}): ShadowSide => ({
  verdict: 'PASS',
  quality: 0.8,
  text: 'Denver Broncos',
  latency_ms: 1000,
  cost_usd: 0.0001,
  tier: 'S',
  model: 'sim-s',
  policy_version: 1,
  ...o,
});

const pair = (id: string, o: Partial<ShadowPair> & { c?: Partial<ShadowSide> | null; b?: Partial<ShadowSide> }): ShadowPair => ({
  job_id: id,
  tenant: o.tenant ?? 'acme',
  route: o.route ?? 'squad-qa',
  intent: o.intent === undefined ? 'factoid' : o.intent,
  prompt: `question ${id}`,
  baseline: side(o.b),
  candidate: o.c === null ? null : side({ policy_version: 2, ...o.c }),
});

const build = (pairs: ShadowPair[], maxRegressions?: number) =>
  buildShadowReport({
    key: 'k1',
    runId: 'sr-1',
    createdAt: new Date(0),
    window: { from: new Date(0), to: new Date(1000) },
    filters: { tenant: null, route: null, sample: null },
    versions: { baseline: { policy_versions: [1] }, candidate: { policy_version: 2 } },
    pairs,
    maxRegressions,
  });

describe('buildShadowReport', () => {
  it('shows a worse candidate as negative quality and PASS deltas, with the changed answers and the regressions worst first', () => {
    const r = build([
      pair('a', { c: { quality: 0.2, verdict: 'FAIL', text: 'I do not know' } }),
      pair('b', { c: { quality: 0.7, text: 'Broncos' } }),
      pair('c', { c: { quality: 0.8 } }),
      pair('d', { c: { quality: 0.9, latency_ms: 3000, cost_usd: 0.0003 } }),
    ]);
    assert.equal(r.overall.jobs, 4);
    assert.equal(r.overall.paired, 4);
    assert.ok(Math.abs(r.overall.baseline.mean_quality - 0.8) < 1e-12);
    assert.ok(Math.abs(r.overall.delta.mean_quality - (0.65 - 0.8)) < 1e-12);
    assert.equal(r.overall.delta.pass_rate, -0.25);
    assert.equal(r.overall.answers_changed, 2);
    assert.equal(r.overall.verdicts_changed, 1);
    assert.equal(r.overall.candidate.latency_p95_ms, 3000);
    assert.ok(Math.abs(r.overall.delta.cost_per_request_usd - 0.00005) < 1e-12);
    assert.deepEqual(
      r.regressions.map((g) => [g.job_id, Number(g.quality_delta.toFixed(3))]),
      [
        ['a', -0.6],
        ['b', -0.1],
      ],
    );
    assert.deepEqual(r.regressions[0]!.baseline, { text: 'Denver Broncos', verdict: 'PASS', quality: 0.8, tier: 'S' });
    assert.equal(r.regressions[0]!.candidate.verdict, 'FAIL');
  });

  it('a lost PASS ranks before a larger quality drop, and the list is capped', () => {
    const r = build([pair('x', { c: { quality: 0.75, verdict: 'FLAG' } }), pair('y', { c: { quality: 0.1 } }), pair('z', { c: { quality: 0.5 } })], 2);
    assert.deepEqual(
      r.regressions.map((g) => g.job_id),
      ['x', 'y'],
    );
  });

  it('groups by tenant, route and intent; figures count only jobs judged on both sides; unjudged copies are listed', () => {
    const r = build([
      pair('a', { tenant: 't2', intent: null, c: { quality: 0.4 } }),
      pair('b', { tenant: 't1', c: null }),
      pair('c', { tenant: 't1', c: { verdict: null, quality: null } }),
      pair('d', { tenant: 't1' }),
    ]);
    assert.deepEqual(
      r.groups.map((g) => [g.tenant, g.route, g.intent, g.jobs, g.paired]),
      [
        ['t1', 'squad-qa', 'factoid', 3, 1],
        ['t2', 'squad-qa', 'unclassified', 1, 1],
      ],
    );
    assert.deepEqual(r.not_judged, ['b', 'c']);
    assert.equal(r.overall.paired, 2);
  });

  it('an empty run has NaN figures, no regressions, and renders', () => {
    const r = build([]);
    assert.ok(Number.isNaN(r.overall.baseline.mean_quality));
    assert.deepEqual(r.regressions, []);
    assert.match(shadowReportMarkdown(r), /None: no paired answer scored worse/);
  });
});

describe('shadowReportMarkdown', () => {
  it('renders the key, the versions, one row per group and the regressions side by side, escaping hostile text', () => {
    const r = build([pair('a', { c: { quality: 0.1, text: 'evil | pipe\n# heading <script>' } })]);
    const md = shadowReportMarkdown(r);
    assert.match(md, /^# Shadow run sr-1$/m);
    assert.match(md, /Report key `k1`/);
    assert.match(md, /^\| policy_version \| null \| 2 \|$/m);
    assert.match(md, /^\| acme \| squad-qa \| factoid \| 1\/1 \| 0\.800 → 0\.100 \(-0\.700\) \|/m);
    assert.match(md, /^\| candidate \| evil \\\| pipe # heading <script> \| PASS \| 0\.100 \| S \|$/m);
    assert.doesNotMatch(md, /^# heading/m);
  });
});
