import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_PROMPT_LIBRARY_FILES, loadPromptLibrary } from './prompt-library.js';
import { DEFAULT_PROMPTS_DIR, PoolsConfigError, loadPoolsConfig, parsePoolsConfig } from './pool-config.js';
import { PromptTemplateError, renderPrompt, templateId } from './prompt-template.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');
const prompts = path.join(repo, 'infra/prompts');
const chat = (name: string, version: number, content = '{{question}}') => JSON.stringify({ name, version, api: 'chat', messages: [{ role: 'user', content }] });
const folder = (files: Record<string, string>): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'prompt-library-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
};

describe('prompt library (PROMPTS_DIR)', () => {
  it("loads every template of the repository's infra/prompts by name@version, and not the judge's prompts", () => {
    assert.equal(DEFAULT_PROMPTS_DIR, prompts);
    const library = loadPromptLibrary(prompts);
    for (const id of ['rag-chat@1', 'rag-chat-no-context@1', 'squad-chat-smollm2@1', 'squad-completions-gemma@1', 'squad-completions-gemma-long@1'])
      assert.equal(templateId(library[id]!), id);
    assert.ok(
      Object.values(library).every((t) => path.dirname(t.file) === prompts),
      'judge/ is a sub-folder and is not read',
    );
    assert.equal(library.constructor, undefined, 'no inherited key answers a lookup');
  });

  it('rag-chat-no-context@1 is rag-chat@1 without the retrieved context (the negative control)', () => {
    const library = loadPromptLibrary(prompts);
    const input = {
      systemPrompt: 'Be brief.',
      question: 'Who?',
      context: [{ chunk_id: 'c', document_id: 'd', text: 'Alpha.', score: 1 }],
    };
    assert.deepEqual(renderPrompt(library['rag-chat-no-context@1']!, input), {
      api: 'chat',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Question: Who?' },
      ],
    });
    assert.deepEqual(renderPrompt(library['rag-chat-no-context@1']!, input), renderPrompt(library['rag-chat@1']!, { ...input, context: [] }));
  });

  it('reads only .json files (symbolic links followed), skipping sub-folders and hidden files', () => {
    const dir = folder({ 'a.v1.json': chat('a', 1), 'README.md': '# not a template', '.b.v1.json': 'not json' });
    mkdirSync(path.join(dir, 'judge.v1.json'));
    const target = folder({ 'linked.v2.json': chat('linked', 2) });
    symlinkSync(path.join(target, 'linked.v2.json'), path.join(dir, 'linked.v2.json'));
    assert.deepEqual(Object.keys(loadPromptLibrary(dir)).sort(), ['a@1', 'linked@2']);
  });

  it('refuses the folder naming every bad file: a name that is not NAME.vVERSION.json of its content, and an invalid template', () => {
    const dir = folder({ 'ok.v1.json': chat('ok', 1), 'renamed.v1.json': chat('other', 3), 'typo.v1.json': chat('typo', 1, '{{questions}}') });
    assert.throws(
      () => loadPromptLibrary(dir),
      (e: unknown) => {
        assert.ok(e instanceof PromptTemplateError);
        assert.match(e.message, new RegExp(`${path.join(dir, 'renamed.v1.json')} is other@3, so its file must be named other\\.v3\\.json`));
        assert.match(e.message, /typo\.v1\.json: messages\.0\.content: unknown variable \{\{questions\}\}/);
        assert.doesNotMatch(e.message, /ok\.v1\.json/);
        return true;
      },
    );
  });

  it('refuses a missing folder and one with too many files', () => {
    assert.throws(() => loadPromptLibrary('/nonexistent/prompts'), /cannot read the prompts folder \/nonexistent\/prompts/);
    const many = folder(Object.fromEntries(Array.from({ length: MAX_PROMPT_LIBRARY_FILES + 1 }, (_, i) => [`t${i}.v1.json`, chat(`t${i}`, 1)])));
    assert.throws(() => loadPromptLibrary(many), /holds 1001 template files, more than the 1000 allowed/);
  });

  describe('with the pool config', () => {
    const localPools = readFileSync(path.join(repo, 'infra/pools/local.json'), 'utf8');

    it("holds the folder's templates and each pool's own", () => {
      const cfg = loadPoolsConfig(path.join(repo, 'infra/pools/local.json'), prompts);
      assert.ok(cfg.templates['rag-chat-no-context@1'] && cfg.templates['squad-completions-gemma@1']);
      const own = parsePoolsConfig(localPools, path.join(repo, 'infra/pools/local.json'), undefined, folder({ 'x.v1.json': chat('x', 1) }));
      assert.deepEqual(Object.keys(own.templates).sort(), ['rag-chat@1', 'x@1'], "the pools' own rag-chat@1 is added to the folder's");
      assert.deepEqual(Object.keys(loadPoolsConfig(path.join(repo, 'infra/pools/local.json')).templates), ['rag-chat@1'], 'no folder: the pool templates only');
    });

    it('a reload is refused when the folder is invalid, or names a pool template with other content', () => {
      assert.throws(
        () => parsePoolsConfig(localPools, 'pools.json', path.join(repo, 'infra/pools'), folder({ 'bad.v1.json': '{' })),
        (e: unknown) =>
          e instanceof PoolsConfigError && /^pools\.json: prompts \(PROMPTS_DIR\): prompt template .*bad\.v1\.json: not valid JSON/.test(e.message),
      );
      const changed = folder({ 'rag-chat.v1.json': chat('rag-chat', 1, 'Changed in place: {{question}}') });
      assert.throws(
        () => parsePoolsConfig(localPools, 'pools.json', path.join(repo, 'infra/pools'), changed),
        (e: unknown) => e instanceof PoolsConfigError && /pools\.S\.prompt_template: .* are both rag-chat@1 with different content/.test(e.message),
      );
    });
  });
});
