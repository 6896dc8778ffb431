import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '@llmgov/config';
import { loadIngestConfig } from './config.js';

const refusal = (env: Record<string, string>) => {
  try {
    loadIngestConfig(env);
  } catch (err) {
    return err;
  }
  return assert.fail('expected a ConfigError');
};

describe('loadIngestConfig: development API keys', () => {
  it('refuses to start with the default (development) keys outside local mode, naming API_KEYS', () => {
    for (const env of [{}, { PLATFORM_MODE: 'production' }] as Record<string, string>[]) {
      const err = refusal(env);
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(
        err.issues.map((i) => i.variable),
        ['API_KEYS'],
      );
      assert.match(err.message, /API_KEYS: is not set, so it defaults to the development key\(s\) dev-key-tenant-a, dev-key-tenant-b.*PLATFORM_MODE=local/);
    }
  });

  it('refuses a development key set explicitly outside local mode', () => {
    const err = refusal({ API_KEYS: 'tenant-a=dev-key-tenant-a,tenant-c=a-real-secret-123' });
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /API_KEYS: contains the development key\(s\) dev-key-tenant-a,/);
    assert.doesNotMatch(err.message, /a-real-secret-123/, 'the error never prints a real key');
  });

  it('accepts real keys outside local mode', () => {
    const config = loadIngestConfig({ API_KEYS: 'tenant-a=a-real-secret-123' });
    assert.equal(config.PLATFORM_MODE, 'production');
    assert.deepEqual([...config.API_KEYS], [['a-real-secret-123', 'tenant-a']]);
  });

  it('keeps the development keys as the default in local mode', () => {
    const config = loadIngestConfig({ PLATFORM_MODE: 'local' });
    assert.equal(config.API_KEYS.get('dev-key-tenant-a'), 'tenant-a');
    assert.equal(config.API_KEYS.get('dev-key-tenant-b'), 'tenant-b');
  });

  it('rejects an unknown mode', () => {
    const err = refusal({ PLATFORM_MODE: 'staging', API_KEYS: 'tenant-a=a-real-secret-123' });
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(
      err.issues.map((i) => i.variable),
      ['PLATFORM_MODE'],
    );
  });
});
