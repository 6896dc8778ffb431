import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPools, renderTemplate } from './generate.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

describe('renderTemplate', () => {
  it("renders the real pool file's templates with one numbered context chunk", () => {
    const pools = readPools(path.join(root, 'infra/pools/local-llama.json'));
    const m = renderTemplate(pools.M.template, 'Who?', 'Rollo led them.');
    assert.equal(m.prompt, '[1] Rollo led them.\n\nQ: Who?\nA:');
    assert.deepEqual(m.stop, ['\n']);
    const s = renderTemplate(pools.S.template, 'Who?', 'Rollo led them.');
    assert.equal(s.messages?.length, 2);
    assert.match(s.messages![1]!.content, /Context:\n\[1\] Rollo led them\.\n\nQuestion: Who\?/);
  });

  it('inserts values verbatim and refuses templates with other variables', () => {
    const r = renderTemplate({ api: 'completions', prompt: '{{context}}|{{question}}' }, '{{x}}', 'a {{context}} b');
    assert.equal(r.prompt, '[1] a {{context}} b|{{x}}');
    assert.throws(() => renderTemplate({ api: 'completions', prompt: '{{system_prompt}} {{question}}' }, 'q', 'c'), /more than/);
  });
});
