import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ConfigError, loadConfig } from './load-config.js';
import { loadPlatformConfig } from './platform-config.js';

describe('loadConfig', () => {
  it('lists every invalid variable at once', () => {
    const schema = z.object({ A: z.coerce.number().int(), B: z.url(), C: z.string() });
    try {
      loadConfig(schema, { A: 'x', B: 'not a url' });
      assert.fail('expected ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.issues.map((i) => i.variable).sort(), ['A', 'B', 'C']);
      assert.match(err.message, /A: /);
    }
  });

  it('applies platform defaults and parses broker lists', () => {
    const cfg = loadPlatformConfig({}, { KAFKA_BROKERS: 'a:1, b:2', HTTP_PORT: '8080' });
    assert.deepEqual(cfg.KAFKA_BROKERS, ['a:1', 'b:2']);
    assert.equal(cfg.HTTP_PORT, 8080);
    assert.equal(cfg.KAFKA_HANDLER_MAX_ATTEMPTS, 5);
  });

  it('rejects a malformed broker list', () => {
    assert.throws(() => loadPlatformConfig({}, { KAFKA_BROKERS: 'no-port' }), ConfigError);
  });
});
