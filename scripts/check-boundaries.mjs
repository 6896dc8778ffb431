#!/usr/bin/env node
// Proves the architecture rules of ADR 0004 bite: writes probe files with deliberate violations (a service importing a
// service, a tool and a driver; a lib importing a service, a tool and a driver; a service test importing a service)
// next to real code, lints them with the repo's eslint.config.js, and fails unless ESLint reports exactly the lines
// that break a rule, and none of the allowed imports on the lines in between. The probes are removed on exit.
// Run: bash scripts/with-node22.sh node scripts/check-boundaries.mjs (part of scripts/check.sh).
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tag = `${process.pid}`;
/** Each probe: where it goes, and its import lines, each marked as one the lint must report (true) or must not (false). */
const probes = [
  {
    file: `services/router/src/boundary-probe-${tag}.ts`,
    imports: [
      [`import { EmbedderModule } from '@llmgov/embedder';`, true], // service → service
      [`export * from '@llmgov/judge/dist/src/index.js';`, true], // service → service, re-export of a subpath
      [`import type { ClientConfig } from 'pg/lib/index.js';`, true], // driver subpath
      [`import pg from 'pg';`, true], // driver outside libs/persistence
      [`import type { Kafka } from 'kafkajs';`, true], // driver outside libs/kafka-runtime, type-only import
      [`import { startEngine } from '@llmgov/vllm-sim';`, true], // service production code → tool
      [`import { eventually } from '@llmgov/testing';`, true], // production code → the test-support lib
      [`import { loadPlatformConfig } from '@llmgov/config';`, false], // service → util: allowed
      [`import { PersistenceModule } from '@llmgov/persistence';`, false], // service → adapter: allowed
    ],
  },
  {
    file: `libs/observability/src/boundary-probe-${tag}.ts`,
    imports: [
      [`import { RouterModule } from '@llmgov/router';`, true], // lib → service
      [`import { startPlatform } from '@llmgov/platform';`, true], // lib → tool
      [`import { Redis } from 'ioredis';`, true], // driver outside libs/persistence
      [`import { QdrantClient } from '@qdrant/js-client-rest';`, true], // driver outside libs/vector-store
      [`import { loadPlatformConfig } from '@llmgov/config';`, false], // util → util: allowed
    ],
  },
  {
    file: `services/ingest-validator/test/boundary-probe-${tag}.int.spec.ts`,
    imports: [
      [`import { RouterModule } from '@llmgov/router';`, true], // a service's test → another service
      [`import { startPlatform } from '@llmgov/platform';`, false], // tests may use tools
      [`import type { Kafka } from 'kafkajs';`, false], // tests may observe the real parts with a driver
    ],
  },
];

const failures = [];
try {
  for (const probe of probes) {
    const body = probe.imports.map(([line]) => line).join('\n') + '\n';
    writeFileSync(join(root, probe.file), `// Probe written by scripts/check-boundaries.mjs; deleted when it exits.\n${body}`);
  }
  const eslint = new ESLint({ cwd: root });
  const results = await eslint.lintFiles(probes.map((p) => p.file));
  for (const probe of probes) {
    const result = results.find((r) => relative(root, r.filePath) === probe.file);
    const reported = new Set((result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.line));
    probe.imports.forEach(([line, mustReport], index) => {
      const lineNo = index + 2; // line 1 is the probe comment
      if (mustReport && !reported.has(lineNo)) failures.push(`${probe.file}: not reported: ${line}`);
      if (!mustReport && reported.has(lineNo)) failures.push(`${probe.file}: reported but allowed: ${line}`);
    });
    const fatal = (result?.messages ?? []).filter((m) => m.fatal);
    for (const m of fatal) failures.push(`${probe.file}: ESLint could not parse it: ${m.message}`);
  }
} finally {
  for (const probe of probes) rmSync(join(root, probe.file), { force: true });
}
const expected = probes.reduce((n, p) => n + p.imports.length, 0);
if (failures.length > 0) {
  console.error(`[boundaries] the architecture rules did not behave as ADR 0004 says:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log(`[boundaries] ok: ${expected} probe imports, each reported or allowed as ADR 0004 says`);
