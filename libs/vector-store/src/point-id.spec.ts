import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUuid, pointId, uuidV5 } from './point-id.js';

describe('uuidV5 / pointId', () => {
  it('matches the well-known UUID v5 of "python.org" in the DNS namespace', () => {
    // Example from the Python `uuid` module documentation (uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org')).
    assert.equal(uuidV5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it('is deterministic, version 5, RFC variant', () => {
    const id = pointId('acme', 'doc-1#0');
    assert.equal(id, pointId('acme', 'doc-1#0'));
    assert.ok(isUuid(id));
    assert.equal(id[14], '5');
    assert.ok('89ab'.includes(id[19]!));
  });

  it('differs per tenant and cannot be forged by moving a separator', () => {
    assert.notEqual(pointId('acme', 'c1'), pointId('other', 'c1'));
    assert.notEqual(pointId('a:b', 'c'), pointId('a', 'b:c'));
    assert.notEqual(pointId('a', ''), pointId('', 'a'));
  });

  it('rejects a namespace that is not a UUID', () => {
    assert.throws(() => uuidV5('x', 'not-a-uuid'), TypeError);
  });
});
