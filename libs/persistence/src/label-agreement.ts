import type { Pool } from 'pg';
import { classifyPgError } from './postgres.js';

/** Curated labels that have a judge verdict, as a 2x2 table: human label (GOOD/BAD) x (verdict is PASS). Counts. */
export interface LabelVerdictTable {
  goodPass: number;
  goodNotPass: number;
  badPass: number;
  badNotPass: number;
}

/**
 * Counts the `labels` rows (migration 003, written by the feedback-labeler) that carry a judge verdict, by human label and
 * by whether the verdict was PASS; one tenant, or all tenants when `tenantId` is undefined. One parameterised query. The
 * one copy of this SQL: the feedback-labeler's `agreement()` and `llmgov feedback agreement` both call it.
 * @throws RetriableError / the classified Postgres error (`classifyPgError`) when the query fails.
 */
export async function labelVerdictTable(pool: Pool, tenantId?: string): Promise<LabelVerdictTable> {
  let rows: { label: string; judge_pass: boolean; n: number }[];
  try {
    const r = await pool.query<{ label: string; judge_pass: boolean; n: number }>(
      `SELECT label, (judge_verdict = 'PASS') AS judge_pass, count(*)::int AS n
       FROM labels WHERE judge_verdict IS NOT NULL AND ($1::text IS NULL OR tenant_id = $1)
       GROUP BY 1, 2`,
      [tenantId ?? null],
    );
    rows = r.rows;
  } catch (err) {
    throw classifyPgError(err);
  }
  const table: LabelVerdictTable = { goodPass: 0, goodNotPass: 0, badPass: 0, badNotPass: 0 };
  for (const row of rows) {
    if (row.label === 'GOOD') table[row.judge_pass ? 'goodPass' : 'goodNotPass'] += row.n;
    else table[row.judge_pass ? 'badPass' : 'badNotPass'] += row.n;
  }
  return table;
}
