/**
 * The policy integration specs (tools/platform, tools/llmgov) apply in their own namespace: infra/policies/local.yaml with tenant-a's
 * routes under the test's tenant and no budgets, changed by the spec, with the prompt templates it then references.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parsePolicyText, policyTemplateRefs, templateFileName, type PolicyDocument } from '@llmgov/policy';
import { repoRoot } from './platform.js';

/**
 * The local policy for `tenant` (tenant-a's routes, `budgets: []`), after `edit` (budgets, SLO classes, a canary
 * section...), with the templates (infra/prompts) the edited document references; `createdBy` is the version's author.
 */
export function tenantPolicy(tenant: string, createdBy: string, edit: (document: PolicyDocument) => void = () => undefined) {
  const document: PolicyDocument = parsePolicyText(readFileSync(path.join(repoRoot(), 'infra/policies/local.yaml'), 'utf8'), 'local.yaml');
  document.tenants = { [tenant]: document.tenants['tenant-a']! };
  document.budgets = [];
  edit(document);
  const templates = policyTemplateRefs(document).map((ref) => ({
    ...ref,
    content: JSON.parse(readFileSync(path.join(repoRoot(), 'infra/prompts', templateFileName(ref)), 'utf8')) as Record<string, unknown>,
  }));
  return { document, templates, created_by: createdBy };
}
