import { createTwoFilesPatch } from 'diff';

/**
 * One line per leaf of a JSON value, `path: value`, keys sorted, values as JSON (so a string with a newline stays on
 * its line); arrays of scalars stay whole on one line (`allowed_tiers: ["S","M"]`), arrays of objects are indexed by
 * their `name` when every element has a distinct one (`classifier.intents[legal].high_risk`), else by position.
 * Every line of a diff of two such texts names the field it changes, which a diff of nested YAML does not.
 * (Our own ~20 lines: the diffing itself is the `diff` package's; what it is given is ours to choose.)
 */
export function flattenForDiff(value: unknown, path = ''): string[] {
  const isScalar = (v: unknown) => v === null || typeof v !== 'object';
  if (isScalar(value) || (Array.isArray(value) && value.every(isScalar)) || Object.keys(value as object).length === 0)
    return [`${path || '(root)'}: ${JSON.stringify(value)}`];
  if (Array.isArray(value)) {
    const names = value.map((item) => (item as { name?: unknown }).name);
    const byName = names.every((n) => typeof n === 'string') && new Set(names).size === names.length;
    return value.flatMap((item, i) => flattenForDiff(item, `${path}[${byName ? String(names[i]) : i}]`));
  }
  return Object.keys(value as Record<string, unknown>)
    .sort()
    .flatMap((key) => flattenForDiff((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key));
}

export interface PolicyDiff {
  /** Unified diff (the `diff` package's createTwoFilesPatch) of the flattened documents; '' when they are equal. */
  text: string;
  /** Lines removed and added. */
  removed: number;
  added: number;
}

/**
 * The readable difference between two policy documents: a unified diff of their flattened forms, with 2 lines of
 * context. `before` undefined (no active version yet) shows every line as added. Key order never shows as a change.
 */
export function renderPolicyDiff(before: { label: string; document: unknown } | undefined, after: { label: string; document: unknown }): PolicyDiff {
  const oldText = before ? `${flattenForDiff(before.document).join('\n')}\n` : '';
  const newText = `${flattenForDiff(after.document).join('\n')}\n`;
  if (oldText === newText) return { text: '', removed: 0, added: 0 };
  const patch = createTwoFilesPatch(before?.label ?? '(no active version)', after.label, oldText, newText, undefined, undefined, { context: 2 });
  // createTwoFilesPatch starts with a line of '=' under an "Index:"-less header; keep from the --- line on.
  const text = patch.slice(patch.indexOf('---'));
  const lines = text.split('\n');
  return {
    text,
    removed: lines.filter((l) => l.startsWith('-') && !l.startsWith('---')).length,
    added: lines.filter((l) => l.startsWith('+') && !l.startsWith('+++')).length,
  };
}
