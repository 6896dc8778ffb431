import type { PolicyDocument } from './schema.js';
import { TIERS } from './schema.js';

/** A parsed template reference: `name@version` names the file `NAME.vVERSION.json` of infra/prompts. */
export interface TemplateRef {
  name: string;
  version: number;
}

/** A prompt template stored with a policy version: its reference and the file's JSON content. */
export interface PromptTemplateRecord extends TemplateRef {
  /** The template file's parsed JSON (see infra/prompts/README.md); opaque here, rendered by the inference worker. */
  content: Record<string, unknown>;
}

/** Largest template file read, bytes (the inference worker's own limit: a template is a few hundred bytes). */
export const MAX_TEMPLATE_BYTES = 64 * 1024;

/**
 * Splits `name@version`. The schema has already checked the form (`templateRef`).
 * @throws Error when `ref` is not of that form.
 */
export function parseTemplateRef(ref: string): TemplateRef {
  const m = /^([A-Za-z0-9._-]+)@([1-9][0-9]{0,8})$/.exec(ref);
  if (!m) throw new Error(`${JSON.stringify(ref)} is not a template reference name@version`);
  return { name: m[1]!, version: Number(m[2]) };
}

export const formatTemplateRef = (t: TemplateRef): string => `${t.name}@${t.version}`;

/** The file a reference names in the prompts folder: `NAME.vVERSION.json` (infra/prompts/README.md). */
export const templateFileName = (t: TemplateRef): string => `${t.name}.v${t.version}.json`;

/** Every template the policy references (its tiers'), unique, sorted by name then version. */
export function policyTemplateRefs(policy: PolicyDocument): TemplateRef[] {
  const refs = new Map<string, TemplateRef>();
  for (const tier of TIERS) {
    const ref = policy.tiers[tier]?.prompt_template;
    if (ref !== undefined) refs.set(ref, parseTemplateRef(ref));
  }
  return [...refs.values()].sort((a, b) => (a.name === b.name ? a.version - b.version : a.name < b.name ? -1 : 1));
}

/**
 * Checks that a template file's parsed JSON is the template it is referenced as: a JSON object whose `name` and
 * `version` fields equal the reference. Returns the problems, empty when it is fine. (The template's own fields are
 * checked by the inference worker that renders it.)
 */
export function templateContentProblems(ref: TemplateRef, json: unknown): string[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return ['the template file is not a JSON object'];
  const t = json as Record<string, unknown>;
  const problems: string[] = [];
  if (t.name !== ref.name) problems.push(`its name is ${JSON.stringify(t.name)}, not ${JSON.stringify(ref.name)}`);
  if (t.version !== ref.version) problems.push(`its version is ${JSON.stringify(t.version)}, not ${ref.version}`);
  return problems;
}
