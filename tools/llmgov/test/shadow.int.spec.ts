/**
 * `llmgov policy shadow` and `policy shadow-report` (issue 11 §4, ADR 0009), built, as a child process, against the
 * real Postgres: hostile and invalid input gets a clear error and exit 1 with nothing written; a namespace has one open
 * experiment (canary or shadow) with one history.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { localPolicyText, okJson, policyCli, promptsDirWith } from './support.js';

const llmgov = policyCli('cli-test');
const json = okJson;
const localPolicy = localPolicyText();

interface Experiment {
  mode: string;
  version: number;
  stable_version: number;
  percent: number;
  outcome: string | null;
  cause: string | null;
}

describe('llmgov policy shadow (built CLI, real Postgres)', () => {
  let dir: string;
  const namespace = `cli-shadow-${randomUUID()}`;
  const tpl = `cli-shadow-${randomUUID().slice(0, 8)}`;
  const files: string[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'llmgov-shadow-'));
    const prompts = promptsDirWith(dir, tpl, { 1: '{{question}}' });
    for (const [name, p95] of [
      ['s1.yaml', '700'],
      ['s2.yaml', '640'],
    ] as const) {
      const f = path.join(dir, name);
      writeFileSync(f, localPolicy.replace('squad-chat-smollm2@1', `${tpl}@1`).replace('p95_latency_ms: 700', `p95_latency_ms: ${p95}`));
      files.push(f);
    }
    for (const f of files) assert.equal((await llmgov(namespace, 'policy', 'apply', f, '--prompts-dir', prompts)).code, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses bad input with a clear error and exit 1, writing nothing', async () => {
    const refused: [string[], RegExp][] = [
      [['policy', 'shadow', '2', '--percent', '0'], /expected a percent in \(0, 100\]/],
      [['policy', 'shadow', '2', '--percent', '100.5'], /expected a percent in \(0, 100\]/],
      [['policy', 'shadow', '2', '--percent', '-5'], /expected a percent in \(0, 100\]/],
      [['policy', 'shadow', '2', '--percent', '1e2'], /expected a percent in \(0, 100\]/],
      [['policy', 'shadow', '2', '--percent', '10; DROP TABLE policy_canaries'], /expected a percent in \(0, 100\]/],
      [['policy', 'shadow', '2'], /error: give VERSION and --percent P \(or --abort\)/],
      [['policy', 'shadow', 'two', '--percent', '10'], /error: command-argument value 'two' is invalid for argument 'version'/],
      [['policy', 'shadow', '--abort', '2'], /error: --abort takes no version and no --percent/],
      [['policy', 'shadow', '2', '--percent', '10'], /error: a shadow needs a stable version to run next to/],
      [['policy', 'shadow', '--abort'], /error: no shadow is in progress/],
      [['policy', 'shadow-report'], /error: namespace .* has had no shadow/],
    ];
    for (const [args, message] of refused) {
      const r = await llmgov(namespace, ...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal((await llmgov(namespace, 'policy', 'activate', '1')).code, 0);
    for (const [args, message] of [
      [['policy', 'shadow', '99', '--percent', '10'], /error: policy version 99 does not exist \(versions 1\.\.2 exist\)/],
      [['policy', 'shadow', '99', '--percent', '10', '--dry-run'], /error: policy version 99 does not exist/],
      [['policy', 'shadow', '1', '--percent', '10'], /error: version 1 is already the stable \(active\) version/],
    ] as [string[], RegExp][]) {
      const r = await llmgov(namespace, ...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.deepEqual(json<{ canaries: unknown[] }>(await llmgov(namespace, 'policy', 'list', '--json')).canaries, []);
  });

  it('one experiment per namespace: a shadow refuses a canary and the other way round, with one history', async () => {
    const dry = await llmgov(namespace, 'policy', 'shadow', '2', '--percent', '25', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^dry run: version 2 would decide a copy of 25% of jobs \(by job-id hash\) next to active version 1, never answering the user; nothing written$/m,
    );
    assert.deepEqual(json<{ canaries: unknown[] }>(await llmgov(namespace, 'policy', 'list', '--json')).canaries, []);

    const started = json<Experiment>(await llmgov(namespace, 'policy', 'shadow', '2', '--percent', '25', '--json', '--comment', 'try M'));
    assert.deepEqual([started.mode, started.version, started.stable_version, started.percent, started.outcome], ['shadow', 2, 1, 25, null]);

    for (const [args, message] of [
      [['policy', 'shadow', '2', '--percent', '50'], /error: version 2 is already in shadow at 25% .*one experiment per namespace/],
      [['policy', 'canary', '2', '--percent', '10'], /error: version 2 is already in shadow at 25% .*one experiment per namespace/],
      [['policy', 'canary', '2', '--percent', '10', '--dry-run'], /version 2 is in shadow at 25%: one experiment per namespace/],
      [['policy', 'canary', '--abort'], /error: no canary is in progress \(a shadow of version 2 is open: llmgov policy shadow --abort ends it\)/],
      [['policy', 'canary', '--abort', '--dry-run'], /error: no canary is in progress \(a shadow of version 2 is open/],
      [['policy', 'promote'], /error: version 2 is in shadow, not in canary/],
    ] as [string[], RegExp][]) {
      const r = await llmgov(namespace, ...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    const report = await llmgov(namespace, 'policy', 'shadow-report');
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /^shadow #\d+: version 2 on 25% of jobs next to version 1, started .* by cli-test, in progress$/m);
    assert.match(report.stdout, /paired jobs \(judged on both sides\): 0; answers differ: 0; verdicts differ: 0/);

    assert.match((await llmgov(namespace, 'policy', 'shadow', '--abort', '--comment', 'enough')).stdout, /^ended the shadow of version 2;/);
    assert.match((await llmgov(namespace, 'policy', 'canary', '2', '--percent', '10')).stdout, /^canary: version 2 decides 10%/);
    for (const [args, message] of [
      [['policy', 'shadow', '2', '--percent', '5'], /error: version 2 is already in canary at 10% .*one experiment per namespace/],
      [['policy', 'shadow', '--abort'], /error: no shadow is in progress \(a canary of version 2 is open: llmgov policy canary --abort ends it\)/],
    ] as [string[], RegExp][]) {
      const r = await llmgov(namespace, ...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal((await llmgov(namespace, 'policy', 'canary', '--abort')).code, 0);

    const list = json<{ canaries: Experiment[] }>(await llmgov(namespace, 'policy', 'list', '--json'));
    assert.deepEqual(
      list.canaries.map((c) => [c.mode, c.version, c.percent, c.outcome, c.cause]),
      [
        ['shadow', 2, 25, 'aborted', 'enough'],
        ['canary', 2, 10, 'aborted', null],
      ],
    );
    const shown = await llmgov(namespace, 'policy', 'show', '2');
    assert.match(shown.stdout, /^# shadow at 25% next to version 1, started .* by cli-test: aborted .* by cli-test \(enough\)$/m);
    // The report of the last shadow stays readable after it ended.
    const ended = json<{ experiment: Experiment; paired: number }>(await llmgov(namespace, 'policy', 'shadow-report', '--json'));
    assert.deepEqual([ended.experiment.mode, ended.experiment.outcome, ended.paired], ['shadow', 'aborted', 0]);
  });
});
