import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readSquadFile } from './squad-file.js';

describe('readSquadFile', () => {
  const write = async (text: string): Promise<string> => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'squad-')), 'f.json');
    await writeFile(file, text);
    return file;
  };

  it('reads the SQuAD layout, giving a question without answers none', async () => {
    const file = await write(
      JSON.stringify({
        version: '1.1',
        data: [
          {
            title: 'T',
            paragraphs: [
              {
                context: 'c',
                qas: [
                  { id: 'q1', question: 'Q?', answers: [{ text: 'a', answer_start: 0 }] },
                  { id: 'q2', question: 'R?' },
                ],
              },
            ],
          },
        ],
      }),
    );
    const squad = await readSquadFile(file);
    assert.deepEqual(
      squad.data[0]!.paragraphs[0]!.qas.map((q) => q.answers.map((a) => a.text)),
      [['a'], []],
    );
  });

  it('names the file and the first layout problem; refuses text that is not JSON', async () => {
    await assert.rejects(readSquadFile(await write('{"data":[{"title":1}]}')), /f\.json is not in the SQuAD v1\.1 layout: data\.0\.title/);
    await assert.rejects(readSquadFile(await write('not json')), /cannot read .*f\.json as JSON/);
    await assert.rejects(readSquadFile('/nonexistent/squad.json'), /cannot read \/nonexistent\/squad\.json/);
  });
});
