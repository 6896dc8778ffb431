import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import Table from 'cli-table3';
import { Command, InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';
import {
  MAX_POLICY_BYTES,
  MAX_TEMPLATE_BYTES,
  TIERS,
  canarySettings,
  formatTemplateRef,
  parsePolicyText,
  parseTemplateRef,
  policyDocumentSchema,
  sha256OfJson,
  templateContentProblems,
  templateFileName,
  type PolicyDocument,
  type PromptTemplateRecord,
} from '@llmgov/policy';
import {
  PolicyRepository,
  ShadowSamplesRepository,
  type ActivationResult,
  type PolicyCanary,
  type PolicyVersionRecord,
  type ShadowReport,
} from '@llmgov/persistence';
import { CliError, actor, paint, positiveInt, printJson, withDatabase, withStoreOptions, type StoreOptions } from '../cli.js';
import { renderPolicyDiff } from '../diff.js';
import { evaluateGates } from '../gate.js';

/**
 * Reads a file of at most `maxBytes` as UTF-8 text.
 * @throws CliError `unreadable_file` when it is missing, not a regular file, too large or not UTF-8.
 */
export async function readTextFile(file: string, maxBytes: number, what: string): Promise<string> {
  const fail = (reason: string) => new CliError(`cannot read the ${what} ${file}: ${reason}`, 'unreadable_file');
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw fail('not a regular file');
    size = st.size;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw fail((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
  if (size > maxBytes) throw fail(`it is ${size} bytes; at most ${maxBytes} are accepted`);
  const bytes = await readFile(file).catch((err: unknown) => {
    throw fail((err as Error).message);
  });
  if (bytes.length > maxBytes) throw fail(`it is ${bytes.length} bytes; at most ${maxBytes} are accepted`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw fail('not UTF-8 text');
  }
}

/**
 * Loads the content of every template the policy references from `dir` (`NAME.vVERSION.json`).
 * @throws CliError `invalid_templates` listing, per tier, each template that is missing, unreadable, not JSON, or not the
 *   template it is referenced as.
 */
async function loadTemplates(policy: PolicyDocument, dir: string): Promise<PromptTemplateRecord[]> {
  const problems: string[] = [];
  const loaded = new Map<string, PromptTemplateRecord>();
  for (const tier of TIERS) {
    const refText = policy.tiers[tier]?.prompt_template;
    if (refText === undefined || loaded.has(refText)) continue;
    const ref = parseTemplateRef(refText);
    const file = path.join(dir, templateFileName(ref));
    const at = `tiers.${tier}.prompt_template: template ${refText}`;
    try {
      const json: unknown = JSON.parse(await readTextFile(file, MAX_TEMPLATE_BYTES, 'prompt template'));
      const wrong = templateContentProblems(ref, json);
      if (wrong.length > 0) problems.push(`${at}: ${file}: ${wrong.join('; ')}`);
      else loaded.set(refText, { ...ref, content: json as Record<string, unknown> });
    } catch (err) {
      problems.push(`${at}: ${err instanceof SyntaxError ? `${file} is not JSON: ${err.message}` : (err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new CliError(`the policy's prompt templates cannot be loaded from ${dir}`, 'invalid_templates', problems);
  return [...loaded.values()];
}

/** A stored document laid out in the schema's field order for reading (as stored when it no longer parses). */
function readable(document: unknown): unknown {
  const parsed = policyDocumentSchema.safeParse(document);
  return parsed.success ? parsed.data : document;
}

/** A bordered text table (cli-table3), without colours so that piped output stays plain. */
function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows.map((r) => r.map(String)));
  return t.toString();
}

const short = (sha: string) => `${sha.slice(0, 12)}…`;
const when = (d: Date) =>
  d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');

function describeActivation(r: ActivationResult, verb: string): string {
  if (!r.activation) return `version ${r.version} is already active; nothing written`;
  return `${verb}: version ${r.version} is active${r.previous_version === null ? '' : ` (was ${r.previous_version})`}; routers apply it within 5 s`;
}

/** A canary share: a number in (0, 100]. */
function percent(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || !(n > 0 && n <= 100)) throw new InvalidArgumentError('expected a percent in (0, 100], e.g. 10 or 2.5');
  return n;
}

/** One canary as a table row: version, stable, percent, started, by, ended how, cause. */
const canaryRow = (c: PolicyCanary): string[] => [
  c.mode,
  String(c.version),
  String(c.stable_version),
  `${c.percent}%`,
  `${when(c.started_at)} by ${c.started_by}${c.comment ? ` (${c.comment})` : ''}`,
  c.outcome === null ? 'in progress' : `${c.outcome} ${when(c.ended_at!)} by ${c.ended_by ?? ''}`,
  c.cause ?? '',
];
const CANARY_HEAD = ['mode', 'version', 'stable', 'percent', 'started (UTC)', 'ended', 'cause'];

const SHADOW_REPORT_HEAD = ['variant', 'version', 'judged', 'mean quality', 'PASS rate', 'cost/request (USD)', 'p95 latency (ms)'];
const fixed = (n: number | null, digits: number): string => (n === null ? '-' : n.toFixed(digits));
/** One variant of a shadow report as a table row. */
const shadowReportRow = (f: ShadowReport['stable']): string[] => [
  f.variant,
  String(f.policy_version),
  String(f.samples),
  fixed(f.mean_quality, 3),
  f.pass_rate === null ? '-' : `${(f.pass_rate * 100).toFixed(1)}%`,
  `${fixed(f.cost_per_request_usd, 6)} (n=${f.cost_samples})`,
  `${fixed(f.p95_latency_ms, 0)} (n=${f.latency_samples})`,
];

interface ApplyOptions extends StoreOptions {
  dryRun?: boolean;
  comment?: string;
  promptsDir?: string;
}

/** `llmgov policy ...`: apply, activate, rollback, list, show. */
export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description('manage policy versions in Postgres: apply a file as a new version, activate one, roll back, list, show')
    .addHelpText(
      'after',
      `
A policy is a YAML or JSON file (schema: schemas/policy/policy.schema.json; example: infra/policies/local.yaml).
Applying stores it as the next version with the prompt templates it references; activating makes it the version every
router applies (within 5 s); rollback returns to the version active before the newest activation.

A canary runs a version for a share of jobs (by a stable hash of the job id) next to the active one; the canary
controller (feedback-labeler) rolls it back by itself when it breaches its route's SLO or the tolerances of the
policy's \`canary\` section; \`promote\` makes it the active version.

Examples:
  llmgov policy apply infra/policies/local.yaml --dry-run
  llmgov policy canary 3 --percent 10
  llmgov policy canary --abort
  llmgov policy promote
  llmgov policy apply infra/policies/local.yaml --comment "tighter FAQ latency"
  llmgov policy activate 2
  llmgov policy rollback
  llmgov policy list --json`,
    );

  withStoreOptions(
    policy
      .command('apply')
      .description(
        'validate FILE, print its diff against the active version, and store it as the next version (idempotent: an identical document is not stored twice)',
      )
      .argument('<file>', 'policy file, YAML or JSON')
      .option('--dry-run', 'validate and show the diff only; write nothing')
      .option('--comment <text>', 'why this version exists, kept with it')
      .option('--prompts-dir <dir>', "folder of the prompt template files NAME.vVERSION.json (default: ../prompts beside FILE's folder)"),
  ).action(async (file: string, opts: ApplyOptions) => {
    const text = await readTextFile(file, MAX_POLICY_BYTES, 'policy file');
    const document = parsePolicyText(text, file);
    const promptsDir = opts.promptsDir ?? path.resolve(path.dirname(file), '../prompts');
    const templates = await loadTemplates(document, promptsDir);
    const sha256 = sha256OfJson(document);
    await withDatabase(async (pool) => {
      const repo = new PolicyRepository(pool, opts.namespace);
      const active = await repo.active();
      const same = (await repo.list()).find((v) => v.sha256 === sha256);
      const diff = renderPolicyDiff(active && { label: `active version ${active.version}`, document: active.document }, { label: file, document });
      const result = opts.dryRun ? undefined : await repo.apply({ document, templates, created_by: actor(), comment: opts.comment ?? null });
      if (opts.json) {
        printJson({
          file,
          namespace: opts.namespace,
          sha256,
          templates: templates.map(formatTemplateRef),
          active_version: active?.version ?? null,
          identical_to_version: same?.version ?? null,
          diff: { text: diff.text, removed: diff.removed, added: diff.added },
          dry_run: opts.dryRun === true,
          result: result ?? null,
        });
        return;
      }
      console.log(`policy ${file} (sha256 ${short(sha256)}, templates ${templates.map(formatTemplateRef).join(', ')})`);
      if (!active) console.log(`namespace ${opts.namespace} has no active version yet: the whole document is new (${diff.added} fields)`);
      else console.log(`against active version ${active.version} of namespace ${opts.namespace}:`);
      if (!active) {
        // nothing to compare with: the file itself is the readable form
      } else if (diff.text === '') console.log('  no changes');
      else {
        for (const line of diff.text.trimEnd().split('\n'))
          console.log(
            line.startsWith('+') && !line.startsWith('+++')
              ? paint('green', line)
              : line.startsWith('-') && !line.startsWith('---')
                ? paint('red', line)
                : line,
          );
        console.log(`${diff.removed} line(s) removed, ${diff.added} added`);
      }
      if (!result) {
        console.log(same ? `dry run: nothing written (identical to version ${same.version})` : 'dry run: nothing written');
      } else if (result.created) {
        console.log(`applied as version ${result.version}; activate it with: llmgov policy activate ${result.version}`);
      } else {
        console.log(`identical to version ${result.version}: nothing written`);
      }
    });
  });

  withStoreOptions(
    policy
      .command('activate')
      .description(
        'make VERSION the active version (recorded in the history; routers apply it within 5 s), after its regression gates hold against the active version',
      )
      .argument('<version>', 'a version number from `llmgov policy list`', positiveInt)
      .option('--comment <text>', 'why, kept in the history')
      .option('--force', 'activate even when a regression gate refuses it (the refusal is recorded in the activation comment)'),
  ).action(async (version: number, opts: StoreOptions & { comment?: string; force?: boolean }) => {
    await withDatabase(async (pool) => {
      const gates = await evaluateGates(pool, opts.namespace, version);
      if (!gates.passed && !opts.force)
        throw new CliError(
          `version ${version} is refused by its regression gates (seed 002: no regression on critical scenarios before rollout); fix it, or activate with --force`,
          'gate_refused',
          gates.problems,
        );
      const forced = gates.passed ? '' : `forced past regression gates: ${gates.problems.join('; ')}`;
      const comment = [opts.comment, forced].filter(Boolean).join(' | ') || null;
      const r = await new PolicyRepository(pool, opts.namespace).activate(version, actor(), comment);
      if (opts.json) printJson({ ...r, gates });
      else {
        if (gates.skipped) console.log(`gates: none checked (${gates.skipped})`);
        for (const o of gates.outcomes)
          console.log(
            `gate ${o.golden}: ${o.passed ? 'holds' : 'REGRESSES'} (${o.checks.map((c) => `${c.metric} ${c.baseline.toFixed(3)} → ${c.candidate.toFixed(3)}`).join(', ')})`,
          );
        if (!gates.passed) console.log(paint('yellow', `--force: activating despite: ${gates.problems.join('; ')}`));
        console.log(describeActivation(r, 'activated'));
      }
    });
  });

  withStoreOptions(
    policy
      .command('rollback')
      .description('undo the newest activation: the version active before it becomes active again, with its prompt templates')
      .option('--comment <text>', 'why, kept in the history'),
  ).action(async (opts: StoreOptions & { comment?: string }) => {
    await withDatabase(async (pool) => {
      const r = await new PolicyRepository(pool, opts.namespace).rollback(actor(), opts.comment ?? null);
      if (opts.json) printJson(r);
      else console.log(describeActivation(r, 'rolled back'));
    });
  });

  withStoreOptions(
    policy
      .command('canary')
      .description('run VERSION for --percent of jobs next to the active version (or --abort the canary in progress)')
      .argument('[version]', 'a version number from `llmgov policy list`', positiveInt)
      .option('--percent <p>', 'share of jobs, percent in (0, 100]', percent)
      .option('--abort', 'end the canary in progress; its jobs go back to the active version')
      .option('--dry-run', 'check and show what would run; write nothing')
      .option('--comment <text>', 'why, kept in the canary history'),
  ).action(async (version: number | undefined, opts: StoreOptions & { percent?: number; abort?: boolean; dryRun?: boolean; comment?: string }) => {
    await withDatabase(async (pool) => {
      const repo = new PolicyRepository(pool, opts.namespace);
      if (opts.abort) return abortExperiment(repo, 'canary', version, opts);
      if (version === undefined || opts.percent === undefined) throw new CliError('give VERSION and --percent P (or --abort)', 'invalid_arguments');
      if (opts.dryRun) {
        const active = await repo.active();
        const target = await repo.show(version);
        const problems: string[] = [];
        if (!active) problems.push('no version is active: a canary needs a stable version to run next to');
        else if (active.version === version) problems.push(`version ${version} is already the active version`);
        if (active?.canary) problems.push(`version ${active.canary.version} is already in canary at ${active.canary.canary.percent}%`);
        if (active?.shadow) problems.push(`version ${active.shadow.version} is in shadow at ${active.shadow.canary.percent}%: one experiment per namespace`);
        if (problems.length > 0) throw new CliError(`the canary of version ${version} would be refused`, 'invalid_canary', problems);
        const tolerances = canarySettings(target.document, active!.document);
        if (opts.json) printJson({ dry_run: true, version, stable_version: active!.version, percent: opts.percent, tolerances });
        else {
          console.log(
            `dry run: version ${version} would decide ${opts.percent}% of jobs (by job-id hash) next to active version ${active!.version}; nothing written`,
          );
          console.log(
            `rolled back by itself over a ${tolerances.window_s} s window (at least ${tolerances.min_samples} samples per version) when its route's SLO`,
          );
          console.log(
            `is breached or p95 latency > ${tolerances.max_p95_latency_ratio}× stable, PASS rate > ${tolerances.max_quality_drop} below stable, cost per request > ${tolerances.max_cost_ratio}× stable`,
          );
        }
        return;
      }
      const c = await repo.startCanary(version, opts.percent, actor(), opts.comment ?? null);
      if (opts.json) printJson(c);
      else console.log(`canary: version ${c.version} decides ${c.percent}% of jobs next to version ${c.stable_version}; routers apply it within 5 s`);
    });
  });

  withStoreOptions(
    policy
      .command('shadow')
      .description('run VERSION on a copy of --percent of jobs whose outcome never reaches the user; both answers are judged (or --abort the shadow)')
      .argument('[version]', 'a version number from `llmgov policy list`', positiveInt)
      .option('--percent <p>', 'share of jobs copied, percent in (0, 100]', percent)
      .option('--abort', 'end the shadow in progress (its report stays: llmgov policy shadow-report)')
      .option('--dry-run', 'check and show what would run; write nothing')
      .option('--comment <text>', 'why, kept in the experiment history'),
  ).action(async (version: number | undefined, opts: StoreOptions & { percent?: number; abort?: boolean; dryRun?: boolean; comment?: string }) => {
    await withDatabase(async (pool) => {
      const repo = new PolicyRepository(pool, opts.namespace);
      if (opts.abort) return abortExperiment(repo, 'shadow', version, opts);
      if (version === undefined || opts.percent === undefined) throw new CliError('give VERSION and --percent P (or --abort)', 'invalid_arguments');
      if (opts.dryRun) {
        const active = await repo.active();
        await repo.show(version); // unknown_version, with the store's message
        const problems: string[] = [];
        if (!active) problems.push('no version is active: a shadow needs a stable version to run next to');
        else if (active.version === version) problems.push(`version ${version} is already the active version`);
        const open = active?.canary ?? active?.shadow;
        if (open) problems.push(`version ${open.version} is already in ${open.canary.mode} at ${open.canary.percent}%: one experiment per namespace`);
        if (problems.length > 0) throw new CliError(`the shadow of version ${version} would be refused`, 'invalid_canary', problems);
        if (opts.json) printJson({ dry_run: true, mode: 'shadow', version, stable_version: active!.version, percent: opts.percent });
        else
          console.log(
            `dry run: version ${version} would decide a copy of ${opts.percent}% of jobs (by job-id hash) next to active version ${active!.version}, ` +
              `never answering the user; nothing written`,
          );
        return;
      }
      const c = await repo.startShadow(version, opts.percent, actor(), opts.comment ?? null);
      if (opts.json) printJson(c);
      else console.log(`shadow: version ${c.version} decides a copy of ${c.percent}% of jobs next to version ${c.stable_version}; routers apply it within 5 s`);
    });
  });

  withStoreOptions(
    policy
      .command('shadow-report')
      .description('per version of the open (or last) shadow: samples, judged quality, PASS rate, cost per request, p95 latency, paired answers that differ'),
  ).action(async (opts: StoreOptions) => {
    await withDatabase(async (pool) => {
      const repo = new PolicyRepository(pool, opts.namespace);
      const last = (await repo.canaries()).filter((c) => c.mode === 'shadow').at(-1);
      if (!last) throw new CliError(`namespace ${opts.namespace} has had no shadow: start one with llmgov policy shadow VERSION --percent P`, 'no_shadow');
      const report = await new ShadowSamplesRepository(pool).report(last);
      if (opts.json) {
        printJson({ experiment: last, ...report });
        return;
      }
      console.log(
        `shadow #${last.id}: version ${last.version} on ${last.percent}% of jobs next to version ${last.stable_version}, started ${when(last.started_at)} by ${last.started_by}, ` +
          (last.outcome === null ? 'in progress' : `${last.outcome} ${when(last.ended_at!)}`),
      );
      console.log(table(SHADOW_REPORT_HEAD, [shadowReportRow(report.stable), shadowReportRow(report.shadow)]));
      console.log(
        `paired jobs (judged on both sides): ${report.paired}; answers differ: ${report.paired_differ}; verdicts differ: ${report.paired_verdict_differ}`,
      );
    });
  });

  withStoreOptions(
    policy
      .command('promote')
      .description('make the canary in progress the active version (recorded in the history; routers apply it within 5 s)')
      .option('--comment <text>', 'why, kept in the history'),
  ).action(async (opts: StoreOptions & { comment?: string }) => {
    await withDatabase(async (pool) => {
      const r = await new PolicyRepository(pool, opts.namespace).promoteCanary(actor(), opts.comment ?? null);
      if (opts.json) printJson(r);
      else console.log(describeActivation(r, `promoted the canary (${r.canary.percent}%)`));
    });
  });

  withStoreOptions(policy.command('list').description('list the versions (newest last) and the activation history')).action(async (opts: StoreOptions) => {
    await withDatabase(async (pool) => {
      const repo = new PolicyRepository(pool, opts.namespace);
      const [versions, activations, canaries] = [await repo.list(), await repo.history(), await repo.canaries()];
      if (opts.json) {
        printJson({ namespace: opts.namespace, versions, activations, canaries });
        return;
      }
      if (versions.length === 0) {
        console.log(`namespace ${opts.namespace} has no policy versions; apply one with: llmgov policy apply FILE`);
        return;
      }
      console.log(`policy versions of namespace ${opts.namespace} (* = active):`);
      console.log(
        table(
          ['version', 'active', 'created (UTC)', 'by', 'sha256', 'prompt templates', 'comment'],
          versions.map((v) => [v.version, v.active ? '*' : '', when(v.created_at), v.created_by, short(v.sha256), v.templates.join('\n'), v.comment ?? '']),
        ),
      );
      console.log('activation history (oldest first):');
      if (activations.length === 0) console.log('  none: no version has been activated');
      else
        console.log(
          table(
            ['at (UTC)', 'action', 'version', 'previous', 'by', 'comment'],
            activations.map((a) => [when(a.activated_at), a.action, a.version, a.previous_version ?? '', a.activated_by, a.comment ?? '']),
          ),
        );
      console.log('canaries (oldest first):');
      if (canaries.length === 0) console.log('  none');
      else console.log(table(CANARY_HEAD, canaries.map(canaryRow)));
    });
  });

  withStoreOptions(
    policy
      .command('show')
      .description('print a version (default: the active one) with its document as YAML and its prompt templates')
      .argument('[version]', 'a version number (default: the active version)', positiveInt),
  ).action(async (version: number | undefined, opts: StoreOptions) => {
    await withDatabase(async (pool) => {
      const repo = new PolicyRepository(pool, opts.namespace);
      const v: PolicyVersionRecord = await repo.show(version);
      const canaries = (await repo.canaries()).filter((c) => c.version === v.version);
      if (opts.json) {
        printJson({ ...v, canaries });
        return;
      }
      console.log(`# version ${v.version}${v.active ? ' (active)' : ''} of namespace ${v.namespace}`);
      for (const c of canaries)
        console.log(
          `# ${c.mode} at ${c.percent}% next to version ${c.stable_version}, started ${when(c.started_at)} by ${c.started_by}: ${
            c.outcome === null ? 'in progress' : `${c.outcome} ${when(c.ended_at!)} by ${c.ended_by ?? ''}${c.cause ? ` (${c.cause})` : ''}`
          }`,
        );
      console.log(`# sha256 ${v.sha256}`);
      console.log(`# created ${when(v.created_at)} by ${v.created_by}${v.comment ? `: ${v.comment}` : ''}`);
      console.log(`# prompt templates: ${v.templates.join(', ')}`);
      process.stdout.write(stringify(readable(v.document), { lineWidth: 0 }));
    });
  });
}

/**
 * `llmgov policy canary|shadow --abort`: a dry run says which experiment would end; otherwise it is ended (a canary as
 * `aborted`, a shadow with its report kept).
 * @throws CliError `invalid_arguments` with a version or --percent; `no_canary` / `no_shadow` when none of that mode is open.
 */
async function abortExperiment(
  repo: PolicyRepository,
  mode: 'canary' | 'shadow',
  version: number | undefined,
  opts: StoreOptions & { percent?: number; dryRun?: boolean; comment?: string },
): Promise<void> {
  if (version !== undefined || opts.percent !== undefined) throw new CliError('--abort takes no version and no --percent', 'invalid_arguments');
  const other = mode === 'canary' ? 'shadow' : 'canary';
  if (opts.dryRun) {
    const open = await repo.canary();
    if (!open || open.mode !== mode)
      throw new CliError(
        `no ${mode} is in progress${open ? ` (a ${other} of version ${open.version} is open: llmgov policy ${other} --abort ends it)` : ''}`,
        `no_${mode}`,
      );
    if (opts.json) printJson({ dry_run: true, would_abort: open });
    else console.log(`dry run: would ${mode === 'canary' ? 'abort' : 'end'} the ${mode} of version ${open.version} at ${open.percent}%; nothing written`);
    return;
  }
  if (mode === 'canary') {
    const ended = await repo.endCanary('aborted', actor(), opts.comment ?? null);
    if (opts.json) printJson(ended);
    else console.log(`aborted the canary of version ${ended!.version}; routers send all its jobs back to the active version within 5 s`);
    return;
  }
  const ended = await repo.endShadow(actor(), opts.comment ?? null);
  if (opts.json) printJson(ended);
  else console.log(`ended the shadow of version ${ended.version}; routers stop copying jobs within 5 s (report: llmgov policy shadow-report)`);
}
