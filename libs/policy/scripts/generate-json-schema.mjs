#!/usr/bin/env node
/**
 * Writes the policy document's JSON Schema, generated from the zod schema (libs/policy/src/schema.ts, built to dist/),
 * to schemas/policy/policy.schema.json, formatted with the repository's prettier settings.
 *
 *   node scripts/generate-json-schema.mjs           regenerate the committed file
 *   node scripts/generate-json-schema.mjs --check   exit 1 with a diff when the committed file drifts from the zod schema
 *
 * Needs the built lib (`tsc -b`, done by scripts/setup.sh).
 */
import { readFileSync, writeFileSync, mkdirSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(pkgDir, '../..');
const { policyJsonSchema, POLICY_JSON_SCHEMA_PATH } = await import(join(pkgDir, 'dist/src/json-schema.js'));
const target = join(repoRoot, POLICY_JSON_SCHEMA_PATH);
const options = { ...(await prettier.resolveConfig(target)), filepath: target };
const text = await prettier.format(JSON.stringify(policyJsonSchema()), options);

if (process.argv.includes('--check')) {
  const committed = existsSync(target) ? readFileSync(target, 'utf8') : '';
  if (committed === text) {
    console.log(`${POLICY_JSON_SCHEMA_PATH} is up to date`);
    process.exit(0);
  }
  const fresh = join(mkdtempSync(join(tmpdir(), 'policy-schema-')), 'policy.schema.json');
  writeFileSync(fresh, text);
  spawnSync('diff', ['-u', target, fresh], { stdio: 'inherit' });
  console.error(`${POLICY_JSON_SCHEMA_PATH} drifts from libs/policy/src/schema.ts: run \`npm run generate:schema -w libs/policy\` and commit it`);
  process.exit(1);
}
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, text);
console.log(`wrote ${POLICY_JSON_SCHEMA_PATH}`);
