import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContextChunk } from '@llmgov/contracts';
import {
  PromptTemplateError,
  contextBlock,
  loadPromptTemplate,
  parsePromptTemplate,
  renderPrompt,
  templateId,
  type PromptTemplate,
} from './prompt-template.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');
const prompts = path.join(repo, 'infra/prompts');
const chunk = (text: string, i = 0): ContextChunk => ({ chunk_id: `c${i}`, document_id: `d${i}`, text, score: 1 - i / 10 });
const chunks = (n: number): ContextChunk[] => Array.from({ length: n }, (_, i) => chunk(`chunk ${i + 1} text.`, i));

const completions = (over: Partial<PromptTemplate> = {}): PromptTemplate => ({
  name: 'c',
  version: 1,
  api: 'completions',
  prompt: 'Context: {{context}}\nQuestion: {{question}}\nAnswer:',
  file: '/c.json',
  ...over,
});

describe('infra/prompts templates', () => {
  it('every file loads, and its name and version match its file name (name.vVERSION.json)', () => {
    const files = readdirSync(prompts).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 4, files.join(', '));
    for (const f of files) {
      const t = loadPromptTemplate(path.join(prompts, f));
      assert.equal(`${t.name}.v${t.version}.json`, f);
    }
  });

  it('rag-chat.v1 reproduces the layout the local test engine answers from', () => {
    const t = loadPromptTemplate(path.join(prompts, 'rag-chat.v1.json'));
    assert.equal(templateId(t), 'rag-chat@1');
    assert.deepEqual(renderPrompt(t, { systemPrompt: 'Be brief.', question: 'Who?', context: [chunk('Alpha.', 0), chunk('Beta.', 1)] }), {
      api: 'chat',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Context:\n[1] Alpha.\n\n[2] Beta.\n\nQuestion: Who?' },
      ],
    });
    assert.deepEqual(renderPrompt(t, { systemPrompt: 'Be brief.', question: 'Who?', context: [] }), {
      api: 'chat',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Question: Who?' },
      ],
    });
  });

  it('the SQuAD templates cap the context and the completions ones stop at a newline', () => {
    const input = { systemPrompt: 'unused', question: 'Q?', context: chunks(6) };
    const smol = renderPrompt(loadPromptTemplate(path.join(prompts, 'squad-chat-smollm2.v1.json')), input);
    assert.equal(smol.api, 'chat');
    const user = smol.api === 'chat' ? smol.messages.at(-1)!.content : '';
    assert.match(user, /\[2\] chunk 2 text\./);
    assert.doesNotMatch(user, /\[3\]/);
    for (const [file, n] of [
      ['squad-completions-gemma.v1.json', 3],
      ['squad-completions-gemma-long.v1.json', 5],
    ] as const) {
      const r = renderPrompt(loadPromptTemplate(path.join(prompts, file)), input);
      assert.equal(r.api, 'completions', file);
      const prompt = r.api === 'completions' ? r.prompt : '';
      assert.ok(prompt.includes(`[${n}] chunk ${n} text.`) && !prompt.includes(`[${n + 1}]`), `${file}: ${prompt}`);
      assert.ok(prompt.endsWith('\n\nQ: Q?\nA:'), prompt);
      assert.deepEqual(r.stop, ['\n']);
    }
  });
});

describe(renderPrompt.name, () => {
  it('places at most max_context_chunks chunks, numbered in retrieval order', () => {
    assert.equal(contextBlock(chunks(3)), '[1] chunk 1 text.\n\n[2] chunk 2 text.\n\n[3] chunk 3 text.');
    const r = renderPrompt(completions({ max_context_chunks: 2 }), { systemPrompt: '', question: 'q', context: chunks(4) });
    assert.deepEqual(r, { api: 'completions', prompt: 'Context: [1] chunk 1 text.\n\n[2] chunk 2 text.\nQuestion: q\nAnswer:' });
    const all = renderPrompt(completions(), { systemPrompt: '', question: 'q', context: chunks(4) });
    assert.ok(all.api === 'completions' && all.prompt.includes('[4] chunk 4 text.'), 'no cap without max_context_chunks');
  });

  it('renders hostile values literally: no template expansion, no HTML escaping', () => {
    const question = 'What is {{context}} or {{{system_prompt}}} or {{#question}}x{{/question}} }} {{ <b>&"\'';
    const context = [chunk('Text with {{question}} and {{> partial}} and {{=<% %>=}} inside.'), chunk('a < b && c > d')];
    const r = renderPrompt(completions(), { systemPrompt: '{{question}}', question, context });
    assert.deepEqual(r, {
      api: 'completions',
      prompt: `Context: [1] Text with {{question}} and {{> partial}} and {{=<% %>=}} inside.\n\n[2] a < b && c > d\nQuestion: ${question}\nAnswer:`,
    });
  });

  it('renders an empty context as an empty string', () => {
    assert.deepEqual(renderPrompt(completions(), { systemPrompt: '', question: 'q', context: [] }), {
      api: 'completions',
      prompt: 'Context: \nQuestion: q\nAnswer:',
    });
  });

  it('gives each call its own copy of stop', () => {
    const t = completions({ stop: ['\n'] });
    const a = renderPrompt(t, { systemPrompt: '', question: 'q', context: [] });
    a.stop!.push('mutated');
    assert.deepEqual(renderPrompt(t, { systemPrompt: '', question: 'q', context: [] }).stop, ['\n']);
  });
});

describe(parsePromptTemplate.name, () => {
  const bad = (raw: unknown, ...fragments: (string | RegExp)[]) => {
    assert.throws(
      () => parsePromptTemplate(typeof raw === 'string' ? raw : JSON.stringify(raw), '/p/t.json'),
      (e: unknown) => {
        assert.ok(e instanceof PromptTemplateError, String(e));
        assert.ok(e.message.includes('/p/t.json'), e.message);
        for (const f of fragments) assert.ok(typeof f === 'string' ? e.message.includes(f) : f.test(e.message), `${String(f)} in ${e.message}`);
        return true;
      },
    );
  };
  const base = { name: 'x', version: 1, api: 'completions', prompt: '{{question}}' };

  it('names the invalid field', () => {
    bad('{"name":', 'not valid JSON');
    bad({ ...base, version: 0 }, 'version:');
    bad({ ...base, api: 'embeddings' }, 'api:');
    bad({ ...base, prompt: undefined }, 'prompt: a completions template needs a prompt');
    bad({ ...base, messages: [{ role: 'user', content: 'x' }] }, 'messages: a completions template has a prompt, not messages');
    bad({ name: 'x', version: 1, api: 'chat', prompt: 'x' }, 'messages: a chat template needs messages', 'prompt: a chat template has messages, not a prompt');
    bad({ name: 'x', version: 1, api: 'chat', messages: [{ role: 'wizard', content: 'x' }] }, 'messages.0.role:');
    bad({ ...base, stop: 'x' }, 'stop:');
    bad({ ...base, max_context_chunks: 0 }, 'max_context_chunks:');
    bad({ ...base, temperature: 0 }, /temperature/);
    bad({ ...base, name: 'has space' }, 'name:');
  });

  it('refuses broken Mustache, unknown variables and partials', () => {
    bad({ ...base, prompt: '{{#context}}never closed' }, 'prompt: not a valid Mustache template');
    bad({ ...base, prompt: 'Q: {{questions}}' }, 'prompt: unknown variable {{questions}}');
    bad(
      {
        name: 'x',
        version: 1,
        api: 'chat',
        messages: [
          { role: 'user', content: 'ok' },
          { role: 'user', content: '{{> header}}' },
        ],
      },
      'messages.1.content: partials',
    );
    assert.equal(parsePromptTemplate(JSON.stringify({ ...base, prompt: '{{#context}}C: {{.}}{{/context}}{{^context}}none{{/context}}' }), 'ok').name, 'x');
  });

  it('reports an unreadable or oversized file', () => {
    assert.throws(() => loadPromptTemplate('/nonexistent/t.json'), /cannot read prompt template \/nonexistent\/t.json/);
    const big = path.join(mkdtempSync(path.join(os.tmpdir(), 'tpl-')), 'big.json');
    writeFileSync(big, JSON.stringify({ ...base, prompt: 'x'.repeat(70_000) }));
    assert.throws(() => loadPromptTemplate(big), /more than the 65536 allowed/);
  });
});
