import { InvalidArgumentError, type Command } from 'commander';
import { labelAgreementStats, type LabelAgreementStats } from '@llmgov/judging';
import { TENANT_ID_RE, labelVerdictTable, type LabelVerdictTable } from '@llmgov/persistence';
import { printJson, withDatabase } from '../cli.js';

/** The `--json` document of `llmgov feedback agreement`. */
export interface AgreementReport extends LabelAgreementStats {
  /** The tenant asked for; null for all tenants. */
  tenant_id: string | null;
  /** The 2x2 table behind the figures (counts). */
  table: LabelVerdictTable;
}

const parseTenant = (v: string): string => {
  if (!TENANT_ID_RE.test(v)) throw new InvalidArgumentError('expected a tenant id: [a-z0-9][a-z0-9_-]{0,63}');
  return v;
};

const fmt = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));

/** The report as text lines. Pure. */
export function formatAgreement(r: AgreementReport): string {
  const t = r.table;
  return [
    `judge vs human labels, ${r.tenant_id === null ? 'all tenants' : `tenant ${r.tenant_id}`}`,
    `labels compared: ${r.compared}  agreed: ${r.agreed}  rate: ${fmt(r.rate)}  Cohen's kappa: ${fmt(r.kappa)}`,
    `                 PASS  not PASS`,
    `human GOOD  ${String(t.goodPass).padStart(8)}  ${String(t.goodNotPass).padStart(8)}`,
    `human BAD   ${String(t.badPass).padStart(8)}  ${String(t.badNotPass).padStart(8)}`,
    '',
  ].join('\n');
}

/** `llmgov feedback agreement`: the feedback-labeler's judge-vs-human agreement, from the same query and formula. */
export function registerFeedbackCommands(program: Command): void {
  const feedback = program.command('feedback').description('Feedback curated into labels by the feedback-labeler, and how the judge agrees with it.');
  feedback
    .command('agreement')
    .description("Agreement of the judge's verdicts with curated human labels (GOOD with PASS, BAD with any other verdict): rate and Cohen's kappa.")
    .option('--tenant <id>', 'one tenant (default: all tenants)', parseTenant)
    .option('--json', 'print the result as JSON (errors as JSON on stderr)')
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      const table = await withDatabase((pool) => labelVerdictTable(pool, opts.tenant));
      const report: AgreementReport = { tenant_id: opts.tenant ?? null, ...labelAgreementStats(table), table };
      if (opts.json) printJson(report);
      else process.stdout.write(formatAgreement(report));
    });
}
