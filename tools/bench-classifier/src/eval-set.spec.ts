import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClassifierSettings } from '@llmgov/classifier';
import { loadClassifierSettings, loadEvalSet, parseEvalSet, splitProblems, utteranceKey, type EvalRow } from './eval-set.js';

/** The repository root, from tools/bench-classifier/dist/src/. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const policyPath = path.join(root, 'infra/policies/classifier-intents.json');
const evalPath = path.join(root, 'libs/classifier/data/intents-eval.jsonl');
const squadPath = path.join(root, '../shared/data/squad-v1.1-dev-subset.json');

describe('parseEvalSet', () => {
  it('reads one row per line and names the line of a bad row', () => {
    const ok = '{"id":"a","intent":"x","text":"hi","source":"hand-written"}\n\n';
    assert.equal(parseEvalSet(ok).length, 1);
    assert.throws(() => parseEvalSet(`${ok}{"id":"b"`), /line 3: not JSON/);
    assert.throws(() => parseEvalSet('{"id":"b","intent":"x","text":"  ","source":"hand-written"}'), /line 1: text: text is blank/);
    assert.throws(() => parseEvalSet('{"id":"b","intent":"x","text":"q","source":"squad-v1.1-dev-subset"}'), /needs squad_id and article/);
    assert.throws(() => parseEvalSet('{"id":"b","intent":"x","text":"q","source":"web"}'), /line 1: source/);
    assert.throws(() => parseEvalSet('{"id":"b","intent":"x","text":"q","source":"hand-written","extra":1}'), /line 1/);
  });
});

describe('splitProblems', () => {
  const settings: ClassifierSettings = {
    intents: [
      { name: 'x', examples: ['Hello there'] },
      { name: 'y', examples: ['bye'] },
    ],
    complexity_threshold: 0.3,
    risk_threshold: 0.5,
  };
  const row = (id: string, intent: string, text: string): EvalRow => ({ id, intent, text, source: 'hand-written' });
  it('finds train/test overlap (case and spaces ignored), unknown intents, duplicates, and intents without rows', () => {
    assert.deepEqual(splitProblems(settings, [row('1', 'x', 'hi'), row('2', 'y', 'ciao')]), []);
    assert.deepEqual(splitProblems(settings, [row('1', 'x', 'hello  THERE'), row('1', 'z', 'HI'), row('3', 'x', 'hi ')]), [
      '1: its text is also an example utterance of "x" (train/test overlap)',
      'duplicate id 1',
      '1: intent "z" is not a policy intent',
      '3: the same text appears twice',
      'intent "y" has no evaluation row',
    ]);
  });
});

describe('the evaluation set and the policy intents in the repository', () => {
  it('hold at least 5 intents and a few hundred rows, with a clean train/test split', async () => {
    const settings = await loadClassifierSettings(policyPath);
    const rows = await loadEvalSet(evalPath);
    assert.ok(settings.intents.length >= 5);
    assert.ok(rows.length >= 250, `${rows.length} rows`);
    assert.deepEqual(splitProblems(settings, rows), []);
    for (const i of settings.intents) assert.ok(rows.filter((r) => r.intent === i.name).length >= 30, `${i.name}: too few evaluation rows`);
  });

  it(
    'take their SQuAD questions verbatim from the SQuAD file, and the policy examples from other questions',
    { skip: existsSync(squadPath) ? false : `${squadPath} is absent` },
    async () => {
      const squad = JSON.parse(readFileSync(squadPath, 'utf8')) as { data: { title: string; paragraphs: { qas: { id: string; question: string }[] }[] }[] };
      const byId = new Map<string, { title: string; question: string }>();
      for (const a of squad.data) for (const p of a.paragraphs) for (const q of p.qas) byId.set(q.id, { title: a.title, question: q.question });
      const rows = (await loadEvalSet(evalPath)).filter((r) => r.source === 'squad-v1.1-dev-subset');
      assert.ok(rows.length >= 50);
      for (const r of rows) {
        const q = byId.get(r.squad_id!);
        assert.ok(q, `${r.id}: no SQuAD question ${r.squad_id}`);
        assert.equal(r.text, q.question.trim(), r.id);
        assert.equal(r.article, q.title, r.id);
        assert.equal(r.intent, 'squad-factoid');
      }
      const questions = new Set([...byId.values()].map((q) => utteranceKey(q.question)));
      const settings = await loadClassifierSettings(policyPath);
      const factoid = settings.intents.find((i) => i.name === 'squad-factoid')!;
      for (const e of factoid.examples) assert.ok(questions.has(utteranceKey(e)), `policy example "${e}" is not a SQuAD question`);
    },
  );
});
