import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { schemaNames } from './generated/index.js';
import { avroTypeForSchema, fixturesFor, schemasDir } from './schemas.js';

describe('schema fixtures', () => {
  it('has a fixture folder for every schema and no folder without a schema', () => {
    const dirs = readdirSync(join(schemasDir(), 'fixtures')).sort();
    assert.deepEqual(dirs, [...schemaNames].sort());
  });

  for (const name of schemaNames) {
    describe(name, () => {
      const { valid, invalid } = fixturesFor(name);
      const type = avroTypeForSchema(name);

      it('has at least one valid and two invalid fixtures', () => {
        assert.ok(existsSync(join(schemasDir(), 'fixtures', name)));
        assert.ok(valid.length >= 1, `${name}: no valid-*.json`);
        assert.ok(invalid.length >= 2, `${name}: fewer than two invalid-*.json`);
      });

      for (const fixture of valid) {
        it(`${fixture.file} round-trips through avsc encode/decode unchanged`, () => {
          const problems: string[] = [];
          const ok = type.isValid(fixture.value, { errorHook: (path) => problems.push(path.join('.') || '<root>') });
          assert.ok(ok, `${fixture.file} is invalid at ${problems.join(', ')}`);
          const decoded: unknown = type.fromBuffer(type.toBuffer(fixture.value));
          // avsc decodes records into instances of generated classes; compare their plain data.
          assert.deepEqual(structuredClone(decoded), fixture.value);
        });
      }

      for (const fixture of invalid) {
        it(`${fixture.file} is rejected`, () => {
          const problems: string[] = [];
          assert.equal(type.isValid(fixture.value, { errorHook: (path) => problems.push(path.join('.')) }), false);
          assert.ok(problems.length > 0, 'the error hook names the offending path');
          assert.throws(() => type.toBuffer(fixture.value));
        });
      }
    });
  }
});
