import { z } from 'zod';
import { policyDocumentSchema } from './schema.js';

/** Where the published JSON Schema lives in the repository, and its `$id`. */
export const POLICY_JSON_SCHEMA_PATH = 'schemas/policy/policy.schema.json';

/**
 * The policy document's JSON Schema (draft 2020-12), generated from {@link policyDocumentSchema} with zod 4's
 * `z.toJSONSchema`, for the input side (fields with defaults are optional). The cross-reference checks (a route's SLO
 * class exists, and so on) are code and do not appear in it: the schema checks shape, `llmgov policy apply` checks all.
 */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(policyDocumentSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'throw' });
  return {
    ...schema,
    $id: 'https://llmgov.local/schemas/policy/policy.schema.json',
    title: 'llmgov policy document',
    description: 'Routes, SLO classes, tiers, classifier settings, budgets and the degrade ladder (issue 10). Generated from libs/policy/src/schema.ts.',
  };
}
