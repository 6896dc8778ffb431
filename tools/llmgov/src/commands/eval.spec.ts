import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CliError } from '../cli.js';
import { parseApiKeys } from './eval.js';

describe('llmgov eval options', () => {
  it('reads API keys in the platform API_KEYS format, keys may contain "="', () => {
    assert.deepEqual(
      [...parseApiKeys(' tenant-a=k1, tenant-b=k=2 ,').entries()],
      [
        ['tenant-a', 'k1'],
        ['tenant-b', 'k=2'],
      ],
    );
  });

  it('refuses a pair without tenant or key', () => {
    for (const bad of ['tenant-a', '=k', 'tenant-a='])
      assert.throws(
        () => parseApiKeys(bad),
        (err: unknown) => err instanceof CliError && err.code === 'invalid_argument',
        bad,
      );
  });
});
