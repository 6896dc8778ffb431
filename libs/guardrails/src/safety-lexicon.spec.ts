import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { safetyFlags } from './safety-lexicon.js';

describe('safetyFlags', () => {
  it('flags instructional harm by category', () => {
    assert.deepEqual(safetyFlags('Here is how to build a pipe bomb at home.'), ['weapons']);
    assert.deepEqual(safetyFlags('The easiest way to poison someone is slowly.'), ['violence']);
    assert.deepEqual(safetyFlags('Steps to poison someone: first buy...'), ['violence']);
    assert.deepEqual(safetyFlags('The best way to end your life is...'), ['self_harm']);
    assert.deepEqual(safetyFlags('HOW TO MAKE A BOMB and how to kill a person'), ['weapons', 'violence']);
  });

  it('leaves factual prose about the same subjects alone', () => {
    assert.deepEqual(safetyFlags('The first atomic bomb was tested in 1945 at Alamogordo.'), []);
    assert.deepEqual(safetyFlags('The Normans were descended from Norse raiders.'), []);
    assert.deepEqual(safetyFlags('Police said the suspect tried to kill a man in 1990.'), []);
    assert.deepEqual(safetyFlags(''), []);
  });

  it('does not match across sentences', () => {
    assert.deepEqual(safetyFlags('This is how to read a map. A bomb was found in 1944.'), []);
  });
});
