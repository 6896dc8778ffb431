import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { policyDocumentSchema, type PolicyDocument } from './schema.js';

/** Largest policy file accepted, bytes (1 MiB): a hand-written policy is a few KiB. */
export const MAX_POLICY_BYTES = 1024 * 1024;
/**
 * Most YAML aliases (`*name`) a document may expand. The yaml package's own default (100) is its guard against
 * "billion laughs" documents; a policy needs a few anchors for shared blocks, so the default is kept.
 */
export const MAX_YAML_ALIASES = 100;

/**
 * A policy text that is not a valid policy: unreadable, too large, not one YAML/JSON document, or failing the schema.
 * `issues` lists every problem found, each as `path: message` (`(root)` for the document itself).
 */
export class PolicyValidationError extends Error {
  override readonly name = 'PolicyValidationError';
  constructor(
    readonly source: string,
    readonly issues: string[],
  ) {
    super(`${source} is not a valid policy:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
  }
}

/** `a.b.0.c: message` for each zod issue (the same layout as the price catalog's errors). */
export function formatZodIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
}

/**
 * Validates an already parsed document (defaults applied).
 * @throws PolicyValidationError with every schema problem as `path: message`.
 */
export function validatePolicy(json: unknown, source = 'policy'): PolicyDocument {
  const result = policyDocumentSchema.safeParse(json);
  if (!result.success) throw new PolicyValidationError(source, formatZodIssues(result.error));
  return result.data;
}

/**
 * Parses a policy file's text, YAML 1.2 or JSON (JSON is YAML 1.2), into a validated document.
 *
 * Hostile input is refused, never run or expanded without bound: text over {@link MAX_POLICY_BYTES}; more than one
 * document; duplicate keys; custom tags (`!!js/function` and the like only draw a warning from the parser, which is
 * treated as an error here); merge keys; more than {@link MAX_YAML_ALIASES} alias expansions; nesting deep enough to
 * exhaust the stack.
 * @throws PolicyValidationError naming `source` with every problem found (YAML errors carry line and column).
 */
export function parsePolicyText(text: string, source = 'policy'): PolicyDocument {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_POLICY_BYTES) throw new PolicyValidationError(source, [`(root): the file is ${bytes} bytes; a policy may be at most ${MAX_POLICY_BYTES}`]);
  let json: unknown;
  try {
    const docs = parseAllDocuments(text, { schema: 'core', merge: false, uniqueKeys: true, strict: true, prettyErrors: true });
    if (!Array.isArray(docs) || docs.length === 0) throw new PolicyValidationError(source, ['(root): the file holds no document']);
    if (docs.length > 1) throw new PolicyValidationError(source, [`(root): the file holds ${docs.length} YAML documents; a policy is one`]);
    const doc = docs[0]!;
    const problems = [...doc.errors, ...doc.warnings].map((e) => `(yaml): ${e.message.replace(/\s+$/, '')}`);
    if (problems.length > 0) throw new PolicyValidationError(source, problems);
    json = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    if (err instanceof PolicyValidationError) throw err;
    // RangeError (stack exhausted by nesting) and the parser's ReferenceError for alias bombs end here.
    throw new PolicyValidationError(source, [`(yaml): cannot be parsed: ${(err as Error).message}`]);
  }
  return validatePolicy(json, source);
}
