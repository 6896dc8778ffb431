import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadPlatformConfig } from '@llmgov/config';
import { DEFAULT_CATALOG_PATH, costEnv } from './config.js';

describe('cost-attributor config', () => {
  it('defaults to the shipped catalog and no budgets', () => {
    const c = loadPlatformConfig(costEnv, {});
    assert.equal(c.CATALOG_PATH, DEFAULT_CATALOG_PATH);
    assert.match(c.CATALOG_PATH, /price-catalog\/v2\.json$/);
    assert.equal(c.TENANT_BUDGETS_USD.size, 0);
  });

  it('parses TENANT_BUDGETS_USD', () => {
    const c = loadPlatformConfig(costEnv, { TENANT_BUDGETS_USD: ' tenant-a=100, tenant-b=0.5 ,', CATALOG_PATH: '/etc/prices.json' });
    assert.deepEqual(
      [...c.TENANT_BUDGETS_USD],
      [
        ['tenant-a', 100],
        ['tenant-b', 0.5],
      ],
    );
    assert.equal(c.CATALOG_PATH, '/etc/prices.json');
  });

  it('reports every bad budget entry', () => {
    try {
      loadPlatformConfig(costEnv, { TENANT_BUDGETS_USD: 'tenant-a=abc,=5,Tenant=1,tenant-c=-2,tenant-d=1=2,tenant-e' });
      assert.fail('expected ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.issues.filter((i) => i.variable === 'TENANT_BUDGETS_USD').length, 6);
    }
  });
});
