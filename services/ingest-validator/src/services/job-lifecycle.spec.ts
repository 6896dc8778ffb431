import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canTransition, TERMINAL_STATES } from './job-lifecycle.js';

describe('canTransition', () => {
  it('follows the batch lifecycle forward', () => {
    assert.equal(canTransition('validating', 'in_progress'), true);
    assert.equal(canTransition('in_progress', 'finalizing'), true);
    assert.equal(canTransition('finalizing', 'completed'), true);
    assert.equal(canTransition('in_progress', 'cancelling'), true);
    assert.equal(canTransition('cancelling', 'cancelled'), true);
  });
  it('never moves backwards or out of a terminal state', () => {
    assert.equal(canTransition('finalizing', 'in_progress'), false);
    assert.equal(canTransition('in_progress', 'validating'), false);
    for (const t of TERMINAL_STATES) for (const to of ['in_progress', 'completed', 'failed'] as const) assert.equal(canTransition(t, to), false);
  });
});
