import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * The JSON Canonicalization Scheme form of a JSON value (RFC 8785, via the `canonicalize` package): object keys sorted
 * by UTF-16 code units, no whitespace, numbers in ECMAScript form. Two documents that differ only in key order or
 * layout (YAML vs JSON, or a round trip through Postgres jsonb, which reorders keys) canonicalise to the same text.
 * @throws TypeError when the value holds something JSON cannot (undefined at the root, a function, a cycle).
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

/** SHA-256 (lower-case hex, 64 characters) of the canonical JSON of `value`: the identity of a policy or template content. */
export function sha256OfJson(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}
