/**
 * `llmgov eval` end to end on the real platform (every service, the vllm-sim engines and the hashing embedder) under
 * its own Kafka namespace (KAFKA_TOPIC_PREFIX), policy namespace and tenant: documents are indexed over HTTP, a golden
 * set is created with the CLI, and it is evaluated under a pinned non-active version and under the active one; then the
 * pinned version's gate on that golden set is checked by `llmgov policy activate`. The simulator's answer is the context
 * sentence sharing most words with the question (tools/vllm-sim answer.ts), which makes exact match predictable.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { GoldenRepository, PolicyRepository } from '@llmgov/persistence';
import type { PolicyDocument } from '@llmgov/policy';
import { bearerJsonApi, eventually, jobInFinalState } from '@llmgov/testing';
import { tenantPolicy, type RunningPlatform } from '@llmgov/platform';
import { runCli, startSimPlatform } from './support.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-eval.${run}.`;
const namespace = `it-eval-${run}`;
const tenant = `ev-${run}`;
const key = `eval-key-${run}`;
const goldenName = `eval-it-${run}`;
const LIGHTHOUSE = `The Zorbulon lighthouse ${run} was built in 1847 on the northern cape and guided ships for a century.`;
const VOLCANO = `The Quellmar volcano ${run} last erupted in 1921, covering the valley in ash.`;

let platform: RunningPlatform | undefined;
let api: string;
let pool: pg.Pool;
let dir: string;

const llmgov = (...args: string[]) =>
  runCli(args, {
    env: { LLMGOV_POLICY_NAMESPACE: namespace, LLMGOV_API_URL: api, LLMGOV_API_KEYS: `${tenant}=${key}`, LLMGOV_USER: 'eval-test', NO_COLOR: '1' },
    timeoutMs: 240_000,
    maxBuffer: 16 * 1024 * 1024,
  });

const http = bearerJsonApi(() => api, key);

async function jobToFinal(id: string): Promise<{
  status: string;
  result: { retrieved_document_ids: string[]; policy_version: number | null; decision_reasons: string[] } | null;
  error: { code: string } | null;
}> {
  return jobInFinalState(id, async () => (await (await http('GET', `/v1/jobs/${id}`)).json()) as { status: string; result: never; error: never }, {
    timeoutMs: 60_000,
    intervalMs: 200,
  });
}

/** The local policy with tenant-a's routes under the test tenant, no budgets, and `extra` fields. */
const policy = (extra: Partial<PolicyDocument>) => tenantPolicy(tenant, 'eval-test', (document) => Object.assign(document, extra));

interface EvalJson {
  eval_run_id: number;
  golden: { version: number; items: number };
  policy: { version: number; pinned: boolean; versions_seen: Record<string, number>; wrong_version: number };
  statuses: Record<string, number>;
  served: { from_cache: number; template: number };
  overall: { n: number; completed: number; exact_match: number; f1: number; judged: number; judge_pass_rate: number; cost_usd: number; latency_p95_ms: number };
  by_intent: Record<string, { n: number; exact_match: number }>;
}

before(
  async () => {
    ({ platform, api, pool } = await startSimPlatform({ prefix, namespace, tenant, key, basePort: 18760 }));
    dir = mkdtempSync(path.join(tmpdir(), 'llmgov-eval-'));
  },
  { timeout: 240_000 },
);

after(async () => {
  await platform?.stop();
  await pool?.end();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('llmgov eval on the running platform (simulator engines)', { timeout: 600_000 }, () => {
  it('evaluates a golden set under a pinned version and the active one, stores both runs, and the gate compares them', async () => {
    const repo = new PolicyRepository(pool, namespace);
    const v1 = (await repo.apply(policy({ description: 'eval test v1' }))).version;
    const v2 = (await repo.apply(policy({ description: 'eval test v2', gates: [{ golden: goldenName, max_f1_drop: 0, max_exact_match_drop: 0 }] }))).version;
    await repo.activate(v1, 'eval-test');

    for (const [id, text] of [
      ['lighthouse', LIGHTHOUSE],
      ['volcano', VOLCANO],
    ] as const)
      assert.equal((await http('POST', '/v1/documents', { document_id: `${id}-${run}`, text, title: id })).status, 202);
    // Indexed when a job about each document retrieves it (there is no document status API).
    for (const [id, q] of [
      ['lighthouse', `When was the Zorbulon lighthouse ${run} built?`],
      ['volcano', `When did the Quellmar volcano ${run} last erupt?`],
    ] as const)
      await eventually(
        `document ${id} to be retrievable`,
        async () => {
          const res = await http('POST', '/v1/jobs', { prompt: q, options: { max_tokens: 32, rag: true } });
          const job = await jobToFinal(((await res.json()) as { id: string }).id);
          return job.result?.retrieved_document_ids.includes(`${id}-${run}`) ? true : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );

    const jsonl = path.join(dir, 'golden.jsonl');
    writeFileSync(
      jsonl,
      [
        { id: 'lighthouse', prompt: `When was the Zorbulon lighthouse ${run} built?`, expected_answer: LIGHTHOUSE, intent: 'history' },
        { id: 'volcano', prompt: `When did the Quellmar volcano ${run} last erupt?`, expected_answer: '1921', intent: 'geology' },
        { id: 'ship', prompt: `What did the Zorbulon lighthouse ${run} guide for a century?`, expected_answers: ['ships'], intent: 'history' },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n'),
    );
    const created = await llmgov('golden', 'create', '--name', goldenName, '--from', jsonl, '--tenant', tenant, '--json');
    assert.equal(created.code, 0, created.stderr);

    // An unknown version is refused before anything is submitted.
    const unknown = await llmgov('eval', '--golden', goldenName, '--policy', '999', '--json');
    assert.equal(unknown.code, 1);
    assert.equal((JSON.parse(unknown.stderr) as { error: { code: string } }).error.code, 'unknown_version');

    // Live traffic under the active version is served the lighthouse answer from the exact cache (the probes filled it)...
    await eventually(
      'a live job to be served the lighthouse answer from the exact cache',
      async () => {
        const res = await http('POST', '/v1/jobs', { prompt: `When was the Zorbulon lighthouse ${run} built?`, options: { max_tokens: 32, rag: true } });
        const job = await jobToFinal(((await res.json()) as { id: string }).id);
        return job.result?.decision_reasons.some((r) => r.endsWith('→serve_cache')) ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    // ...but a pinned eval has a cache of its own: it is never served what another version decided.
    const summaryFile = path.join(dir, 'summary.json');
    const pinned = await llmgov('eval', '--golden', goldenName, '--policy', String(v2), '--concurrency', '2', '--json', '--summary', summaryFile);
    assert.equal(pinned.code, 0, pinned.stderr);
    const p = JSON.parse(pinned.stdout) as EvalJson;
    assert.deepEqual(JSON.parse(readFileSync(summaryFile, 'utf8')), p);
    assert.deepEqual(p.statuses, { completed: 3 });
    assert.deepEqual(p.served, { from_cache: 0, template: 0 });
    assert.deepEqual([p.policy.version, p.policy.pinned, p.policy.versions_seen, p.policy.wrong_version], [v2, true, { [v2]: 3 }, 0]);
    assert.equal(p.overall.n, 3);
    assert.equal(p.overall.judged, 3, 'every answer has its verdict');
    // The simulator answers the lighthouse question with the lighthouse sentence: an exact match; the others are longer than their gold.
    assert.equal(p.by_intent.history!.n, 2);
    assert.equal(p.overall.exact_match, 1 / 3);
    assert.ok(p.overall.f1 > 1 / 3 && p.overall.f1 < 1, String(p.overall.f1));
    assert.ok(p.overall.cost_usd > 0, 'the answers were billed');
    assert.ok(Number.isFinite(p.overall.latency_p95_ms) && p.overall.latency_p95_ms >= 0);

    // Stored: the run with the version evaluated, and per item results whose job was billed under feature eval.
    const golden = new GoldenRepository(pool);
    const set = await golden.get(goldenName);
    const stored = await golden.latestRun(set.id, set.version, namespace, v2);
    assert.equal(stored?.id, p.eval_run_id);
    assert.equal(stored?.pinned, true);
    const results = await pool.query<{ job_id: string; exact_match: number; verdict: string | null }>(
      'SELECT job_id, exact_match, verdict FROM eval_results WHERE run_id = $1',
      [p.eval_run_id],
    );
    assert.equal(results.rowCount, 3);
    assert.equal(results.rows.filter((r) => r.exact_match === 1).length, 1);
    const features = await pool.query<{ feature: string; team: string }>('SELECT DISTINCT feature, team FROM cost_ledger WHERE job_id = ANY($1)', [
      results.rows.map((r) => r.job_id),
    ]);
    assert.deepEqual(features.rows, [{ feature: 'eval', team: 'eval' }]);

    // The active version, unpinned.
    const active = await llmgov('eval', '--golden', goldenName, '--json');
    assert.equal(active.code, 0, active.stderr);
    const a = JSON.parse(active.stdout) as EvalJson;
    assert.deepEqual([a.policy.version, a.policy.pinned, a.policy.versions_seen], [v1, false, { [v1]: 3 }]);
    assert.equal(a.overall.exact_match, p.overall.exact_match);
    assert.ok(a.served.from_cache >= 1, 'the active version is evaluated as live traffic is served, cache included');

    // v2's gate on this golden set: its run scores as v1's, so with zero tolerance it holds.
    const activated = await llmgov('policy', 'activate', String(v2), '--json');
    assert.equal(activated.code, 0, activated.stderr);
    const gate = JSON.parse(activated.stdout) as {
      version: number;
      gates: { passed: boolean; outcomes: { golden: string; baseline_run: number; candidate_run: number }[] };
    };
    assert.deepEqual(
      gate.gates.outcomes.map((o) => [o.golden, o.baseline_run, o.candidate_run]),
      [[goldenName, a.eval_run_id, p.eval_run_id]],
    );
  });

  it('the router fails a job pinned to a version its namespace does not have, with the reason', async () => {
    const res = await http('POST', '/v1/jobs', { prompt: `Pinned to nothing ${run}?`, metadata: { policy_version: '99999' } });
    assert.equal(res.status, 202);
    const job = await jobToFinal(((await res.json()) as { id: string }).id);
    assert.equal(job.status, 'failed');
    assert.equal(job.error?.code, 'invalid_policy_version');
  });
});
