#!/usr/bin/env node
/**
 * Generates the TypeScript types in libs/contracts/src/generated/ from schemas/*.avsc.
 *
 *   node scripts/generate.mjs            regenerate src/generated/ in place
 *   node scripts/generate.mjs --check    regenerate into a temp dir, print a diff and exit 1 when the committed files drift
 *   node scripts/generate.mjs --out DIR  write somewhere else
 *
 * Why a local generator instead of a codegen library from npm (evaluated on these schemas):
 * - avro-typescript (1.1.0, latest on the registry) emits numeric TypeScript enums (`enum Tier { S, M, L }`),
 *   but avsc decodes Avro enums to their symbol strings, so the types would lie at runtime; nullable fields also
 *   come out as optional (`x?: null | undefined | T`) although every field is present after decoding.
 * - @ovotech/avro-ts (6.2.0) produces correct shapes, but wraps everything in TS namespaces
 *   (`ComLlmgovInference.Tier`), embeds each type's schema JSON as a string constant, and re-declares a shared
 *   named type (Tier, Budget, ContextChunk, ...) in every file that uses it, so one barrel `index.ts` cannot
 *   re-export the files without ambiguity errors (TS2308). It also pins `typescript@^4` as a runtime dependency
 *   and builds its output with TS factory APIs deprecated since 4.0/4.8 (it prints deprecation warnings).
 * This generator is about 250 lines, has no dependency besides avsc (already used to validate the schemas), and emits
 * flat ESM modules: string-literal unions plus an enum-like const per Avro enum, interfaces per record with the
 * schema docs as JSDoc, one `shared.ts` for named types that several schemas define identically (it fails when two
 * definitions of the same name differ), and an index with a schema-name to root-type map.
 *
 * Type mapping (avsc defaults, which is what @kafkajs/confluent-schema-registry decodes with):
 * null->null, boolean->boolean, int/long/float/double->number (long is a JS number; timestamp-millis stays a number),
 * string->string, bytes/fixed->Buffer, array->T[], map->Record<string, T>, ["null", T]->T | null, enum->string union.
 * Unions with more than one non-null branch are rejected: avsc would wrap them and the contracts do not need them.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(pkgDir, '../..');
const schemasDir = join(repoRoot, 'schemas');
const committedDir = join(pkgDir, 'src', 'generated');
const historyDir = join(schemasDir, 'history');

/**
 * The current `schema_version` of each schema: 1 + the number of earlier versions kept as
 * `schemas/history/<schema>.sv<N>.avsc` (N = 1, 2, ... without gaps; a spec checks that the current schema is BACKWARD
 * compatible with every one of them).
 */
function schemaVersionsOf(bases) {
  const history = existsSync(historyDir) ? readdirSync(historyDir).filter((f) => f.endsWith('.avsc')) : [];
  const versions = new Map(bases.map((b) => [b, []]));
  for (const f of history) {
    const m = /^(.+)\.sv(\d+)\.avsc$/.exec(f);
    if (!m || !versions.has(m[1])) throw new GenerationError(`schemas/history/${f}: expected <schema>.sv<N>.avsc for an existing schema`);
    versions.get(m[1]).push(Number(m[2]));
  }
  return new Map(
    [...versions].map(([base, ns]) => {
      ns.sort((a, b) => a - b);
      ns.forEach((n, i) => {
        if (n !== i + 1) throw new GenerationError(`schemas/history: ${base} has sv${ns.join(', sv')}; expected sv1..sv${ns.length} without gaps`);
      });
      return [base, ns.length + 1];
    }),
  );
}

const PRIMITIVE_TS = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'Buffer',
  string: 'string',
};

const fullNameOf = (name, namespace) => (name.includes('.') || !namespace ? name : `${namespace}.${name}`);
const namespaceOf = (fullName) => (fullName.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : '');
const shortNameOf = (fullName) => fullName.slice(fullName.lastIndexOf('.') + 1);

class GenerationError extends Error {}

/**
 * One parsed .avsc file: its named types in definition order (pre-order, so the root record comes first),
 * each with a normalised form used to prove that shared definitions are identical.
 */
function parseSchemaFile(file) {
  const text = readFileSync(join(schemasDir, file), 'utf8');
  let schema;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    throw new GenerationError(`${file}: not valid JSON: ${err.message}`);
  }
  try {
    avro.Type.forSchema(schema); // full Avro validation (names, defaults, references)
  } catch (err) {
    throw new GenerationError(`${file}: not a valid Avro schema: ${err.message}`);
  }
  if (schema.type !== 'record') throw new GenerationError(`${file}: the top-level type must be a record`);
  const named = new Map();
  const normalise = (s, ns) => {
    if (typeof s === 'string') {
      if (s in PRIMITIVE_TS) return s;
      const ref = fullNameOf(s, ns);
      if (!named.has(ref)) throw new GenerationError(`${file}: reference to undefined type ${ref}`);
      return { ref };
    }
    if (Array.isArray(s)) return { union: s.map((b) => normalise(b, ns)) };
    switch (s.type) {
      case 'record':
      case 'error':
      case 'enum':
      case 'fixed': {
        const fullName = fullNameOf(s.name, s.namespace ?? ns);
        if (named.has(fullName)) throw new GenerationError(`${file}: ${fullName} is defined twice`);
        const entry = { fullName, kind: s.type === 'error' ? 'record' : s.type, doc: s.doc ?? null, file };
        named.set(fullName, entry);
        const inner = namespaceOf(fullName);
        if (entry.kind === 'enum') entry.symbols = [...s.symbols];
        if (entry.kind === 'fixed') entry.size = s.size;
        if (entry.kind === 'record') {
          entry.fields = s.fields.map((f) => ({
            name: f.name,
            doc: f.doc ?? null,
            ...('default' in f ? { default: f.default } : {}),
            type: normalise(f.type, inner),
          }));
        }
        return { ref: fullName };
      }
      case 'array':
        return { array: normalise(s.items, ns) };
      case 'map':
        return { map: normalise(s.values, ns) };
      default:
        if (typeof s.type === 'string' && s.type in PRIMITIVE_TS) {
          return s.logicalType ? { primitive: s.type, logicalType: s.logicalType } : s.type;
        }
        if (typeof s.type === 'string') return normalise(s.type, ns);
        throw new GenerationError(`${file}: unsupported type ${JSON.stringify(s)}`);
    }
  };
  const root = normalise(schema, '');
  return { file, base: file.replace(/\.avsc$/, ''), rootName: root.ref, named };
}

function tsTypeOf(t, refs) {
  if (typeof t === 'string') return PRIMITIVE_TS[t];
  if (t.primitive) return PRIMITIVE_TS[t.primitive];
  if (t.ref) {
    refs.add(t.ref);
    return shortNameOf(t.ref);
  }
  if (t.array) {
    const item = tsTypeOf(t.array, refs);
    return /[ |]/.test(item) ? `Array<${item}>` : `${item}[]`;
  }
  if (t.map) return `Record<string, ${tsTypeOf(t.map, refs)}>`;
  if (t.union) {
    const nonNull = t.union.filter((b) => b !== 'null');
    if (nonNull.length > 1) {
      throw new GenerationError(`unions with more than one non-null branch are not supported: ${JSON.stringify(t)}`);
    }
    const parts = nonNull.map((b) => tsTypeOf(b, refs));
    if (nonNull.length < t.union.length) parts.push('null');
    return parts.join(' | ');
  }
  throw new GenerationError(`cannot map ${JSON.stringify(t)}`);
}

function jsDoc(lines, indent) {
  if (lines.length === 0) return '';
  const clean = lines.map((l) => l.replace(/\*\//g, '*\\/'));
  if (clean.length === 1 && !clean[0].includes('\n')) return `${indent}/** ${clean[0]} */\n`;
  return `${indent}/**\n${clean
    .flatMap((l) => l.split('\n'))
    .map((l) => (l ? `${indent} * ${l}` : `${indent} *`))
    .join('\n')}\n${indent} */\n`;
}

function logicalNote(t) {
  const inner = t.union ? t.union.find((b) => b !== 'null') : t;
  return inner && typeof inner === 'object' && inner.logicalType ? `Avro \`${inner.primitive}\`, logical type \`${inner.logicalType}\`.` : undefined;
}

function emitNamed(entry, refs) {
  const files = entry.sharedBy ? entry.sharedBy.map((f) => `schemas/${f}`).join(', ') : `schemas/${entry.file}`;
  const where = `Avro ${entry.kind} \`${entry.fullName}\` (${entry.sharedBy ? 'defined identically in ' : ''}${files}).`;
  const name = shortNameOf(entry.fullName);
  const head = jsDoc(entry.doc ? [entry.doc, '', where] : [where], '');
  if (entry.kind === 'enum') {
    const union = entry.symbols.map((s) => `'${s}'`).join(' | ');
    const values = entry.symbols.map((s) => `  ${s}: '${s}',`).join('\n');
    return (
      `${head}export type ${name} = ${union};\n` +
      `/** The symbols of {@link ${name}} by name, in schema order (\`Object.values(${name})\`). */\n` +
      `export const ${name} = {\n${values}\n} as const satisfies { readonly [K in ${name}]: K };\n`
    );
  }
  if (entry.kind === 'fixed') return `${head}export type ${name} = Buffer; // fixed(${entry.size})\n`;
  const fields = entry.fields
    .map((f) => {
      const note = logicalNote(f.type);
      const dflt = 'default' in f ? `@defaultValue \`${JSON.stringify(f.default)}\`` : undefined;
      const lines = [f.doc ?? undefined, note, dflt].filter((l) => l !== undefined);
      return `${jsDoc(lines, '  ')}  ${f.name}: ${tsTypeOf(f.type, refs)};`;
    })
    .join('\n');
  return `${head}export interface ${name} {\n${fields}\n}\n`;
}

const HEADER = (source) =>
  `// Generated by libs/contracts/scripts/generate.mjs from ${source}. Do not edit: change the schema and run \`npm run generate -w libs/contracts\`.\n`;

function generate() {
  const files = readdirSync(schemasDir)
    .filter((f) => f.endsWith('.avsc'))
    .sort();
  if (files.length === 0) throw new GenerationError(`no .avsc files in ${schemasDir}`);
  const parsed = files.map(parseSchemaFile);

  // Named types defined in several files must be defined identically; they go to shared.ts once.
  const byName = new Map();
  for (const p of parsed) {
    for (const entry of p.named.values()) {
      const list = byName.get(entry.fullName) ?? [];
      list.push(entry);
      byName.set(entry.fullName, list);
    }
  }
  const shortNames = new Map();
  for (const [fullName, entries] of byName) {
    const canonical = ({ file: _f, ...rest }) => JSON.stringify(rest);
    const first = canonical(entries[0]);
    const differing = entries.find((e) => canonical(e) !== first);
    if (differing) {
      throw new GenerationError(`${fullName} is defined differently in ${entries[0].file} and ${differing.file}; shared named types must be identical`);
    }
    const short = shortNameOf(fullName);
    if (shortNames.has(short) && shortNames.get(short) !== fullName) {
      throw new GenerationError(`two types share the TypeScript name ${short}: ${shortNames.get(short)} and ${fullName}`);
    }
    shortNames.set(short, fullName);
  }
  const sharedNames = [...byName.keys()].filter((n) => byName.get(n).length > 1).sort();
  const shared = new Set(sharedNames);

  const out = new Map();
  if (sharedNames.length > 0) {
    const body = sharedNames.map((n) => emitNamed({ ...byName.get(n)[0], sharedBy: byName.get(n).map((e) => e.file) }, new Set())).join('\n');
    out.set('shared.ts', `${HEADER('named types that several schemas/*.avsc define identically')}\n${body}`);
  }
  for (const p of parsed) {
    const refs = new Set();
    const own = [...p.named.values()].filter((e) => !shared.has(e.fullName));
    const body = own.map((e) => emitNamed(e, refs)).join('\n');
    const imports = [...refs]
      .filter((r) => shared.has(r))
      .map(shortNameOf)
      .sort();
    const importLine = imports.length > 0 ? `import type { ${imports.join(', ')} } from './shared.js';\n\n` : '';
    out.set(`${p.base}.ts`, `${HEADER(`schemas/${p.file}`)}\n${importLine}${body}`);
  }

  const versions = schemaVersionsOf(parsed.map((p) => p.base));
  const modules = [...out.keys()].sort((a, b) => (a === 'shared.ts' ? -1 : b === 'shared.ts' ? 1 : a.localeCompare(b)));
  const rootImports = parsed.map((p) => `import type { ${shortNameOf(p.rootName)} } from './${p.base}.js';`).join('\n');
  const index =
    `${HEADER('schemas/*.avsc')}\n` +
    modules.map((m) => `export * from './${m.replace(/\.ts$/, '.js')}';`).join('\n') +
    `\n\n${rootImports}\n\n` +
    `/** The root record type of each schema, keyed by schema name (the .avsc file name without extension). */\n` +
    `export interface SchemaValueMap {\n${parsed.map((p) => `  '${p.base}': ${shortNameOf(p.rootName)};`).join('\n')}\n}\n\n` +
    `/** A schema name: the file name of a schemas/*.avsc file without \`.avsc\`. */\n` +
    `export type SchemaName = keyof SchemaValueMap;\n\n` +
    `/** Full Avro name (namespace.name) of each schema's root record. */\n` +
    `export const schemaRecordNames = {\n${parsed.map((p) => `  '${p.base}': '${p.rootName}',`).join('\n')}\n} as const satisfies { readonly [K in SchemaName]: string };\n\n` +
    `/** Every schema name, sorted. */\n` +
    `export const schemaNames = Object.keys(schemaRecordNames) as SchemaName[];\n\n` +
    `/**\n * The current \`schema_version\` of each schema (the envelope field producers write): 1 + the earlier versions kept in\n` +
    ` * schemas/history/<schema>.sv<N>.avsc. Bumped by every compatible change (schemas/README.md, Evolution).\n */\n` +
    `export const schemaVersions = {\n${parsed.map((p) => `  '${p.base}': ${versions.get(p.base)},`).join('\n')}\n} as const satisfies { readonly [K in SchemaName]: number };\n`;
  out.set('index.ts', index);
  return out;
}

function writeAll(dir, files) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of files) writeFileSync(join(dir, name), content);
}

function main(argv) {
  const check = argv.includes('--check');
  const outIdx = argv.indexOf('--out');
  const files = generate();
  if (!check) {
    const dir = outIdx >= 0 ? resolve(argv[outIdx + 1]) : committedDir;
    writeAll(dir, files);
    console.log(`generated ${files.size} files into ${relative(process.cwd(), dir) || '.'}`);
    return 0;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'contracts-generated-'));
  try {
    writeAll(tmp, files);
    const committed = existsSync(committedDir) ? readdirSync(committedDir).sort() : [];
    const fresh = [...files.keys()].sort();
    let drift = committed.join('\n') !== fresh.join('\n');
    for (const f of fresh) {
      if (drift) break;
      drift = readFileSync(join(committedDir, f), 'utf8') !== files.get(f);
    }
    if (!drift) {
      console.log(`src/generated is up to date with schemas/*.avsc (${fresh.length} files)`);
      return 0;
    }
    console.error('src/generated drifted from schemas/*.avsc; run `npm run generate -w libs/contracts` and commit the result.');
    const diff = spawnSync('diff', ['-ruN', committedDir, tmp], { encoding: 'utf8' });
    if (diff.error) {
      console.error(`(diff unavailable: ${diff.error.message}) committed: ${committed.join(', ')}; expected: ${fresh.join(', ')}`);
    } else {
      process.stderr.write(diff.stdout);
    }
    return 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof GenerationError)) throw err;
  console.error(`generate: ${err.message}`);
  process.exitCode = 2;
}
