import { createHash } from 'node:crypto';
import type { JobSubmission } from './jobs.service.js';

/**
 * JSON with object keys sorted at every level, so that two bodies that differ only in key order (or in an
 * optional field sent as null versus left out, see requestFingerprint) have the same text. Written here: it is
 * six lines over plain JSON values, and the workspace has no canonical-JSON dependency.
 */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The job request with the API's defaults applied: optional fields as null (or `{}`) when absent. It is both the
 * body of the `inference.request.submitted.v1` record and what the idempotency fingerprint hashes.
 */
export function canonicalRequest(body: JobSubmission) {
  return {
    prompt: body.prompt,
    system_prompt: body.system_prompt ?? null,
    budget: body.budget,
    options: { ...body.options, tier_hint: body.options.tier_hint ?? null },
    team: body.team ?? null,
    feature: body.feature ?? null,
    route: body.route ?? null,
    metadata: body.metadata ?? {},
  };
}

/**
 * SHA-256 (hex) of the canonical job request (canonicalRequest, keys sorted, `idempotency_key` left out). Two
 * submissions with the same key are the same request exactly when their fingerprints are equal (Stripe compares a
 * reused key's parameters the same way).
 */
export function requestFingerprint(body: JobSubmission): string {
  // A request without a route hashes as it did before `route` existed, so keys reused across the upgrade still match.
  const { route, ...rest } = canonicalRequest(body);
  return createHash('sha256')
    .update(canonicalJson(route === null ? rest : { ...rest, route }), 'utf8')
    .digest('hex');
}
