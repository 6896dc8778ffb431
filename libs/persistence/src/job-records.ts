import type { Pool } from 'pg';

/** The facts about a job's final state that say which records it should have (a client's view of the job). */
export interface RecordExpectation {
  jobId: string | null;
  status: string;
  job: { result: { finish_reason?: string; prompt_tokens?: number; completion_tokens?: number } | null } | null;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the platform recorded about jobs, by job id. */
export interface JobRecords {
  /** The judge's verdict (judged_results, written by the feedback-labeler). */
  verdicts: Map<string, string>;
  /** Everything billed to the job (cost_ledger, written by the cost-attributor), USD. */
  costs: Map<string, number>;
  /** Server-side latency, job created → completed (jobs table), ms; null while not completed. */
  latency: Map<string, number | null>;
}

/**
 * Reads the platform's records of `jobIds` from Postgres.
 * @throws whatever pg throws (Postgres unavailable).
 */
export async function jobRecords(pool: Pool, jobIds: readonly string[]): Promise<JobRecords> {
  const ids = [...jobIds];
  const verdicts = new Map(
    (await pool.query<{ job_id: string; verdict: string }>('SELECT job_id, verdict FROM judged_results WHERE job_id = ANY($1)', [ids])).rows.map((r) => [
      r.job_id,
      r.verdict,
    ]),
  );
  const costs = new Map(
    (
      await pool.query<{ job_id: string; cost: string }>('SELECT job_id, sum(cost_usd)::text AS cost FROM cost_ledger WHERE job_id = ANY($1) GROUP BY job_id', [
        ids,
      ])
    ).rows.map((r) => [r.job_id, Number(r.cost)]),
  );
  const latency = new Map(
    (
      await pool.query<{ job_id: string; ms: number | null }>(
        'SELECT job_id::text AS job_id, (EXTRACT(EPOCH FROM (completed_at - created_at)) * 1000)::float8 AS ms FROM jobs WHERE job_id::text = ANY($1)',
        [ids],
      )
    ).rows.map((r) => [r.job_id, r.ms]),
  );
  return { verdicts, costs, latency };
}

/**
 * The judge's verdicts and the cost ledger are written by consumers downstream of a job's completion: reads the records
 * of the completed `outcomes` again every 500 ms until each answer that should have a verdict (every completed answer
 * but a template) and each that should have a cost (one that used tokens) has them, or `catchUpMs` passed.
 * @returns the records and how many were still missing.
 */
export async function awaitJobRecords(
  pool: Pool,
  outcomes: readonly RecordExpectation[],
  catchUpMs: number,
): Promise<{ records: JobRecords; missingVerdicts: number; missingCosts: number }> {
  const ids = outcomes.flatMap((o) => (o.jobId ? [o.jobId] : []));
  const completed = outcomes.filter((o) => o.status === 'completed' && o.jobId);
  const expectVerdict = completed.filter((o) => o.job?.result?.finish_reason !== 'template');
  const expectCost = completed.filter((o) => (o.job?.result?.prompt_tokens ?? 0) + (o.job?.result?.completion_tokens ?? 0) > 0);
  const until = Date.now() + catchUpMs;
  let records = await jobRecords(pool, ids);
  const missing = () => ({
    missingVerdicts: expectVerdict.filter((o) => !records.verdicts.has(o.jobId!)).length,
    missingCosts: expectCost.filter((o) => !records.costs.has(o.jobId!)).length,
  });
  while (Date.now() < until && missing().missingVerdicts + missing().missingCosts > 0) {
    await pause(500);
    records = await jobRecords(pool, ids);
  }
  return { records, ...missing() };
}
