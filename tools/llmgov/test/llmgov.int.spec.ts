import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAX_POLICY_BYTES } from '@llmgov/policy';
import { localPolicyText, okJson, policyCli, promptsDirWith } from './support.js';

const llmgov = policyCli('cli-test');
const json = okJson;
const localPolicy = localPolicyText();

interface ListJson {
  versions: { version: number; active: boolean; templates: string[]; comment: string | null }[];
  activations: { action: string; version: number; previous_version: number | null; activated_by: string }[];
}

describe('llmgov CLI (built, as a child process) against the real Postgres', () => {
  let dir: string;
  let prompts: string;
  const tpl = `cli-test-${randomUUID().slice(0, 8)}`;
  const ns = () => `cli-test-${randomUUID()}`;
  const file = (name: string, content: string | Buffer) => {
    const p = path.join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  /** The local policy with tier S on the test template `tpl@version` (and optional further text substitutions). */
  const policyFile = (name: string, version: number, replace: [string, string][] = []) =>
    file(
      name,
      replace.reduce((text, [from, to]) => text.replace(from, to), localPolicy.replace('squad-chat-smollm2@1', `${tpl}@${version}`)),
    );

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'llmgov-cli-'));
    prompts = promptsDirWith(dir, tpl, { 1: 'v1: {{question}}', 2: 'v2: {{question}}' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints --help for the program and every command, exit 0', async () => {
    for (const args of [
      ['--help'],
      ['policy', '--help'],
      ...['apply', 'activate', 'rollback', 'list', 'show', 'canary', 'shadow', 'shadow-report', 'promote'].map((c) => ['policy', c, '--help']),
    ]) {
      const r = await llmgov(ns(), ...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^Usage: llmgov/m, args.join(' '));
    }
    const apply = await llmgov(ns(), 'policy', 'apply', '--help');
    for (const option of ['--dry-run', '--comment', '--json', '--namespace', '--prompts-dir']) assert.ok(apply.stdout.includes(option), option);
  });

  it('rollback test: apply v1 and v2, activate v1, activate v2, rollback: v1 is active again with its templates; the history shows all three actions', async () => {
    const namespace = ns();
    const v1 = policyFile('v1.yaml', 1);
    const v2 = policyFile('v2.yaml', 2, [['p95_latency_ms: 700', 'p95_latency_ms: 650']]);

    const dry = await llmgov(namespace, 'policy', 'apply', v1, '--prompts-dir', prompts, '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /has no active version yet: the whole document is new/);
    assert.match(dry.stdout, /dry run: nothing written/);
    assert.deepEqual(json<ListJson>(await llmgov(namespace, 'policy', 'list', '--json')).versions, []);

    const applied = await llmgov(namespace, 'policy', 'apply', v1, '--prompts-dir', prompts, '--comment', 'first');
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /applied as version 1; activate it with: llmgov policy activate 1/);
    assert.match((await llmgov(namespace, 'policy', 'apply', v1, '--prompts-dir', prompts)).stdout, /identical to version 1: nothing written/);
    assert.equal(json<{ version: number }>(await llmgov(namespace, 'policy', 'activate', '1', '--json')).version, 1);

    // The diff against the active version names the changed fields.
    const diff = await llmgov(namespace, 'policy', 'apply', v2, '--prompts-dir', prompts);
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /against active version 1/);
    assert.match(diff.stdout, /^-slo_classes\.fast\.p95_latency_ms: 700$/m);
    assert.match(diff.stdout, /^\+slo_classes\.fast\.p95_latency_ms: 650$/m);
    assert.match(diff.stdout, new RegExp(`^\\+tiers\\.S\\.prompt_template: "${tpl}@2"$`, 'm'));
    assert.match(diff.stdout, /2 line\(s\) removed, 2 added/);
    assert.match(diff.stdout, /applied as version 2/);

    assert.match((await llmgov(namespace, 'policy', 'activate', '2')).stdout, /activated: version 2 is active \(was 1\)/);
    const rolled = await llmgov(namespace, 'policy', 'rollback', '--comment', 'v2 regressed');
    assert.equal(rolled.code, 0, rolled.stderr);
    assert.match(rolled.stdout, /rolled back: version 1 is active \(was 2\)/);

    const active = json<{ version: number; active: boolean; templates: string[]; template_contents: { name: string; version: number; content: unknown }[] }>(
      await llmgov(namespace, 'policy', 'show', '--json'),
    );
    assert.deepEqual([active.version, active.active], [1, true]);
    assert.ok(active.templates.includes(`${tpl}@1`));
    assert.deepEqual(active.template_contents.find((t) => t.name === tpl)?.content, JSON.parse(readFileSync(path.join(prompts, `${tpl}.v1.json`), 'utf8')));

    const list = json<ListJson>(await llmgov(namespace, 'policy', 'list', '--json'));
    assert.deepEqual(
      list.versions.map((v) => [v.version, v.active, v.comment]),
      [
        [1, true, 'first'],
        [2, false, null],
      ],
    );
    assert.deepEqual(
      list.activations.map((a) => [a.action, a.version, a.previous_version, a.activated_by]),
      [
        ['activate', 1, null, 'cli-test'],
        ['activate', 2, 1, 'cli-test'],
        ['rollback', 1, 2, 'cli-test'],
      ],
    );
    const table = await llmgov(namespace, 'policy', 'list');
    assert.match(table.stdout, /rollback/);

    const shown = await llmgov(namespace, 'policy', 'show', '2');
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^# version 2 of namespace/m);
    assert.match(shown.stdout, /p95_latency_ms: 650/);
  });

  it('reports unknown versions, nothing to roll back and no active version clearly, exit 1', async () => {
    const namespace = ns();
    const cases: [string[], RegExp][] = [
      [['policy', 'rollback'], /error: nothing to roll back: no policy version has been activated/],
      [['policy', 'show'], /error: no policy version is active/],
      [['policy', 'activate', '3'], /error: policy version 3 does not exist \(no version has been applied\)/],
      [['policy', 'show', '3'], /error: policy version 3 does not exist/],
      [['policy', 'activate', 'latest'], /expected a version number/],
      [['policy', 'activate', '0'], /expected a version number/],
      [['policy', 'nonsense'], /unknown command/],
    ];
    for (const [args, message] of cases) {
      const r = await llmgov(namespace, ...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
    const asJson = await llmgov(namespace, 'policy', 'rollback', '--json');
    assert.equal(asJson.code, 1);
    assert.deepEqual((JSON.parse(asJson.stderr) as { error: { code: string } }).error.code, 'nothing_to_roll_back');
    assert.deepEqual(json<ListJson & { namespace: string }>(await llmgov(namespace, 'policy', 'list', '--json')), {
      namespace,
      versions: [],
      activations: [],
      canaries: [],
    });
  });

  it('canary: dry run, start, refusals, abort, start again, promote; list and show print the canary history', async () => {
    const namespace = ns();
    const v1 = policyFile('c1.yaml', 1);
    const v2 = policyFile('c2.yaml', 1, [['p95_latency_ms: 700', 'p95_latency_ms: 640']]);
    for (const f of [v1, v2]) assert.equal((await llmgov(namespace, 'policy', 'apply', f, '--prompts-dir', prompts)).code, 0);

    const refused: [string[], RegExp][] = [
      [['policy', 'canary', '2', '--percent', '10'], /error: a canary needs a stable version to run next to/],
      [['policy', 'canary', '2', '--percent', '0'], /expected a percent in \(0, 100\]/],
      [['policy', 'canary', '2', '--percent', '101'], /expected a percent in \(0, 100\]/],
      [['policy', 'canary', '2'], /error: give VERSION and --percent P \(or --abort\)/],
      [['policy', 'canary', '--abort'], /error: no canary is in progress/],
      [['policy', 'promote'], /error: no canary is in progress: nothing to promote/],
    ];
    for (const [args, message] of refused) {
      const r = await llmgov(namespace, ...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal((await llmgov(namespace, 'policy', 'activate', '1')).code, 0);
    const self = await llmgov(namespace, 'policy', 'canary', '1', '--percent', '10');
    assert.match(self.stderr, /error: version 1 is already the stable \(active\) version/);

    const dry = await llmgov(namespace, 'policy', 'canary', '2', '--percent', '10', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^dry run: version 2 would decide 10% of jobs \(by job-id hash\) next to active version 1; nothing written$/m);
    assert.match(dry.stdout, /cost per request > 1\.5× stable/);
    assert.deepEqual(json<{ canaries: unknown[] }>(await llmgov(namespace, 'policy', 'list', '--json')).canaries, []);

    assert.match(
      (await llmgov(namespace, 'policy', 'canary', '2', '--percent', '10', '--comment', 'try')).stdout,
      /^canary: version 2 decides 10% of jobs next to version 1/,
    );
    assert.match((await llmgov(namespace, 'policy', 'canary', '2', '--percent', '20')).stderr, /error: version 2 is already in canary at 10%/);
    assert.match((await llmgov(namespace, 'policy', 'canary', '--abort', '--comment', 'too early')).stdout, /^aborted the canary of version 2/);
    assert.equal((await llmgov(namespace, 'policy', 'canary', '2', '--percent', '2.5')).code, 0);
    assert.match((await llmgov(namespace, 'policy', 'promote')).stdout, /^promoted the canary \(2\.5%\): version 2 is active \(was 1\)/);

    const list = json<{ canaries: { version: number; stable_version: number; percent: number; started_by: string; outcome: string; cause: string | null }[] }>(
      await llmgov(namespace, 'policy', 'list', '--json'),
    );
    assert.deepEqual(
      list.canaries.map((c) => [c.version, c.stable_version, c.percent, c.started_by, c.outcome, c.cause]),
      [
        [2, 1, 10, 'cli-test', 'aborted', 'too early'],
        [2, 1, 2.5, 'cli-test', 'promoted', list.canaries[1]!.cause],
      ],
    );
    assert.match(list.canaries[1]!.cause ?? '', /^promoted canary #\d+ \(2\.5%\)$/);
    const table = await llmgov(namespace, 'policy', 'list');
    assert.match(table.stdout, /canaries \(oldest first\):/);
    assert.match(table.stdout, /aborted .* by cli-test/);
    const shown = await llmgov(namespace, 'policy', 'show', '2');
    assert.match(shown.stdout, /^# canary at 10% next to version 1, started .* by cli-test: aborted .* by cli-test \(too early\)$/m);
    assert.match(shown.stdout, /^# version 2 \(active\) of namespace/m);
  });

  it('refuses malformed, oversized and hostile files with a clear error and exit 1, writing nothing', async () => {
    const namespace = ns();
    const aliasBomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) aliasBomb.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    const cases: [string, string | Buffer, RegExp][] = [
      ['syntax.yaml', 'tiers:\n  S: [unclosed\n', /is not a valid policy\n {2}\(yaml\): .*line \d+, column \d+/],
      [
        'schema.yaml',
        'tiers: {}\nslo_classes: []\nclassifier: {}\ndegrade: { ladder: [teleport] }\nbogus: 1\n',
        /is not a valid policy\n( {2}[^\n]+: [^\n]+\n){6,}/,
      ],
      ['oversized.yaml', `description: "${'x'.repeat(MAX_POLICY_BYTES)}"\n`, /at most 1048576 are accepted/],
      ['bomb.yaml', aliasBomb.join('\n'), /Excessive alias count/],
      ['tag.yaml', 'description: !!js/function "function () { process.exit(7) }"\n', /Unresolved tag/],
      ['include.yaml', 'description: !include /etc/passwd\n', /Unresolved tag/],
      ['dupes.yaml', 'description: a\ndescription: b\n', /Map keys must be unique/],
      ['two-docs.yaml', `${localPolicy}\n---\n${localPolicy}`, /2 YAML documents/],
      ['binary.yaml', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]), /not UTF-8 text/],
      ['deep.yaml', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, /is not a valid policy\n {2}\(yaml\)/],
      ['traversal.yaml', localPolicy.replace('squad-chat-smollm2@1', '../../../etc/passwd@1'), /tiers\.S\.prompt_template: .*name@version/],
      [
        'no-template.yaml',
        localPolicy.replace('squad-chat-smollm2@1', `${tpl}-missing@1`),
        /tiers\.S\.prompt_template: template .*-missing@1: cannot read the prompt template .*: no such file/,
      ],
      ['json.json', '{"tiers": ', /is not a valid policy/],
    ];
    for (const [name, content, message] of cases) {
      const r = await llmgov(namespace, 'policy', 'apply', file(name, content), '--prompts-dir', prompts);
      assert.equal(r.code, 1, `${name}: exit ${r.code}, stderr ${r.stderr.slice(0, 500)}`);
      assert.match(r.stderr, message, name);
      assert.match(r.stderr, /^error: /, name);
      assert.equal(r.stdout, '', name);
    }
    for (const target of [path.join(dir, 'missing.yaml'), dir]) {
      const r = await llmgov(namespace, 'policy', 'apply', target);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot read the policy file .*: (no such file|not a regular file)/);
    }
    // A template file that is not the template it is referenced as.
    const wrongPrompts = path.join(dir, 'wrong-prompts');
    mkdirSync(wrongPrompts);
    cpSync(prompts, wrongPrompts, { recursive: true });
    writeFileSync(path.join(wrongPrompts, `${tpl}.v1.json`), JSON.stringify({ name: 'other', version: 1 }));
    const wrong = await llmgov(namespace, 'policy', 'apply', policyFile('w.yaml', 1), '--prompts-dir', wrongPrompts);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /its name is "other"/);
    // Every issue also comes as JSON with --json.
    const asJson = await llmgov(namespace, 'policy', 'apply', file('schema2.yaml', 'tiers: {}\n'), '--json');
    assert.equal(asJson.code, 1);
    const error = (JSON.parse(asJson.stderr) as { error: { code: string; issues: string[] } }).error;
    assert.equal(error.code, 'invalid_policy');
    assert.ok(error.issues.includes('tiers: declare at least one tier'), error.issues.join('\n'));

    assert.deepEqual(json<ListJson>(await llmgov(namespace, 'policy', 'list', '--json')).versions, []);
  });

  it('refuses a changed template under a released name@version, writing nothing', async () => {
    const namespace = ns();
    const applied = await llmgov(namespace, 'policy', 'apply', policyFile('c1.yaml', 1), '--prompts-dir', prompts);
    assert.equal(applied.code, 0, applied.stderr);
    const edited = path.join(dir, 'edited-prompts');
    mkdirSync(edited);
    cpSync(prompts, edited, { recursive: true });
    writeFileSync(
      path.join(edited, `${tpl}.v1.json`),
      JSON.stringify({ name: tpl, version: 1, api: 'chat', messages: [{ role: 'user', content: 'edited {{question}}' }] }),
    );
    const r = await llmgov(namespace, 'policy', 'apply', policyFile('c2.yaml', 1, [['p95_latency_ms: 700', 'p95_latency_ms: 600']]), '--prompts-dir', edited);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`template ${tpl}@1 is already registered with other content.*publish it as ${tpl}@2`));
    assert.deepEqual(
      json<ListJson>(await llmgov(namespace, 'policy', 'list', '--json')).versions.map((v) => v.version),
      [1],
    );
  });
});
