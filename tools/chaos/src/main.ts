#!/usr/bin/env node
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { numArg } from '@llmgov/cli-args';

const positive = numArg(0, Number.MAX_VALUE, { minExclusive: true });
const nonNegative = numArg(0);
import { repoRoot, SERVICE_NAMES } from '@llmgov/platform';
import { SCENARIOS } from './faults.js';
import { runChaos, type ChaosSummary } from './run.js';

const program = new Command('chaos')
  .description(
    'Run the platform under a steady load of SQuAD jobs and documents, inject each fault in turn, and check from the platform records ' +
      '(jobs table, cost ledger, Kafka topics and DLQs) that no job is lost or duplicated.',
  )
  .option(
    '--scenarios <list>',
    `comma-separated; any of ${SCENARIOS.map((s) => s.name).join(', ')}, or sigkill-<service>`,
    SCENARIOS.map((s) => s.name).join(','),
  )
  .option('--summary <path>', 'write the JSON summary to this file')
  .option('--json', 'print the JSON summary on stdout (progress goes to stderr)', false)
  .option('--input <path>', 'SQuAD v1.1-format file', path.resolve(repoRoot(), '../shared/data/squad-v1.1-dev-subset.json'))
  .option('--rate <jobs/s>', 'jobs submitted per second (open loop)', positive, 5)
  .option('--doc-rate <docs/s>', 'documents submitted per second (0 = none)', nonNegative, 1)
  .option('--duration <s>', 'load per scenario, at least', positive, 60)
  .option('--fault-at <s>', 'fault starts this long after the load (the time before is the throughput baseline)', positive, 25)
  .option('--fault-seconds <s>', 'duration of timed faults (outages, engine errors, slow vector store)', positive, 20)
  .option('--after-fault <s>', 'load kept up after the fault ends, at least', positive, 25)
  .option('--deadline <s>', "each job's latency budget", positive, 60)
  .option('--grace <s>', 'wait past the last deadline before a non-final job counts as lost', nonNegative, 30)
  .option('--base-port <port>', 'first service port', positive, 18100)
  .option('--session-timeout-ms <ms>', "the services' Kafka consumer session timeout (how long a killed member holds its partitions)", positive, 10_000)
  .addHelpText(
    'after',
    `\nServices for sigkill-<service>: ${SERVICE_NAMES.join(', ')}. Logs: .local/logs/chaos/. Exit code 1 when any scenario lost or duplicated a job.`,
  );

interface Cli {
  scenarios: string;
  summary?: string;
  json: boolean;
  input: string;
  rate: number;
  docRate: number;
  duration: number;
  faultAt: number;
  faultSeconds: number;
  afterFault: number;
  deadline: number;
  grace: number;
  basePort: number;
  sessionTimeoutMs: number;
}

function table(s: ChaosSummary): string {
  const cols = ['scenario', 'submitted', 'final', 'completed', 'failed_with_reason', 'lost', 'duplicated', 'dlq', 'recovery_s'] as const;
  const lines = [`| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`];
  for (const r of s.scenarios) lines.push(`| ${cols.map((c) => (r[c] === null ? 'n/a' : String(r[c]))).join(' | ')} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const o = program.parse().opts<Cli>();
  const out = o.json ? (l: string) => process.stderr.write(`${l}\n`) : (l: string) => console.log(l);
  const summary = await runChaos({
    scenarios: o.scenarios
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
    input: o.input,
    rate: o.rate,
    docRate: o.docRate,
    durationS: o.duration,
    faultAtS: o.faultAt,
    faultS: o.faultSeconds,
    afterFaultS: o.afterFault,
    deadlineS: o.deadline,
    graceS: o.grace,
    basePort: o.basePort,
    sessionTimeoutMs: o.sessionTimeoutMs,
    logDir: path.join(repoRoot(), '.local', 'logs', 'chaos'),
    progress: (l) => out(`${new Date().toISOString().slice(11, 19)} ${l}`),
  });
  const json = JSON.stringify(summary, null, 2);
  if (o.summary) await writeFile(o.summary, `${json}\n`);
  if (o.json) console.log(json);
  else {
    console.log(`\n${table(summary)}\n\nwall time ${summary.wall_s.toFixed(0)} s${o.summary ? `; summary written to ${o.summary}` : ''}`);
  }
  const bad = summary.scenarios.filter((r) => r.lost > 0 || r.duplicated > 0 || r.error);
  if (bad.length > 0) {
    out(`chaos: ${bad.map((r) => `${r.scenario} (lost ${r.lost}, duplicated ${r.duplicated}${r.error ? `, fault error: ${r.error}` : ''})`).join('; ')}`);
    process.exitCode = 1;
  }
}

// Ctrl-C: exit at once; the supervisor's exit hook SIGKILLs the engines and services this run started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((err: unknown) => {
  console.error(`chaos failed: ${(err as Error).message}`);
  process.exit(1);
});
