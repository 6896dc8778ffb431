import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseClassifierSettings, type ClassifierSettings } from '@llmgov/classifier';

/** One labelled request of the evaluation set (libs/classifier/data/intents-eval.jsonl; provenance in its README). */
export interface EvalRow {
  id: string;
  /** The true intent: one of the policy's intents. */
  intent: string;
  text: string;
  /** `squad-v1.1-dev-subset`: a real SQuAD question (`squad_id`, `article`); `hand-written`: written by the project. */
  source: 'squad-v1.1-dev-subset' | 'hand-written';
  squad_id?: string;
  article?: string;
}

const rowSchema = z
  .object({
    id: z.string().min(1),
    intent: z.string().min(1),
    text: z.string().refine((s) => s.trim().length > 0, 'text is blank'),
    source: z.enum(['squad-v1.1-dev-subset', 'hand-written']),
    squad_id: z.string().min(1).optional(),
    article: z.string().min(1).optional(),
  })
  .strict()
  .refine((r) => r.source !== 'squad-v1.1-dev-subset' || (r.squad_id !== undefined && r.article !== undefined), 'a SQuAD row needs squad_id and article');

/**
 * Parses a JSONL evaluation set: one {@link EvalRow} per non-empty line.
 * @throws Error naming the line number and every problem of the first bad line.
 */
export function parseEvalSet(jsonl: string, name = 'evaluation set'): EvalRow[] {
  const rows: EvalRow[] = [];
  jsonl.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new Error(`${name} line ${i + 1}: not JSON (${(err as Error).message})`, { cause: err });
    }
    const r = rowSchema.safeParse(value);
    if (!r.success) throw new Error(`${name} line ${i + 1}: ${r.error.issues.map((x) => `${x.path.join('.') || '(row)'}: ${x.message}`).join('; ')}`);
    rows.push(r.data);
  });
  return rows;
}

/** Reads and parses a JSONL evaluation set (see {@link parseEvalSet}). */
export async function loadEvalSet(path: string): Promise<EvalRow[]> {
  return parseEvalSet(await readFile(path, 'utf8'), path);
}

/**
 * Reads classifier settings from a JSON file: either the settings themselves or a policy document holding them under
 * `classifier` (YAML policies are not read here).
 * @throws Error when the file cannot be read or is not JSON; ClassifierError `settings_invalid` when the settings are not valid.
 */
export async function loadClassifierSettings(path: string): Promise<ClassifierSettings> {
  const text = await readFile(path, 'utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not a JSON file (${(err as Error).message})`, { cause: err });
  }
  const inner = typeof doc === 'object' && doc !== null && 'classifier' in doc ? (doc as { classifier: unknown }).classifier : doc;
  return parseClassifierSettings(inner);
}

/** Lower case, white space collapsed: two texts that differ only so are the same utterance. */
export const utteranceKey = (text: string): string => text.trim().toLowerCase().replace(/\s+/g, ' ');

/**
 * The problems that make an evaluation meaningless (empty when there are none): duplicate ids or texts, a row whose
 * intent the policy does not have, a policy intent with no evaluation row, and any evaluation text that is also one of
 * the policy's example utterances (the train/test split must hold).
 */
export function splitProblems(settings: ClassifierSettings, rows: readonly EvalRow[]): string[] {
  const problems: string[] = [];
  const intents = new Set(settings.intents.map((i) => i.name));
  const train = new Map<string, string>();
  for (const i of settings.intents) for (const e of i.examples) train.set(utteranceKey(e), i.name);
  const ids = new Set<string>();
  const texts = new Set<string>();
  for (const r of rows) {
    if (ids.has(r.id)) problems.push(`duplicate id ${r.id}`);
    ids.add(r.id);
    const key = utteranceKey(r.text);
    if (texts.has(key)) problems.push(`${r.id}: the same text appears twice`);
    texts.add(key);
    if (!intents.has(r.intent)) problems.push(`${r.id}: intent "${r.intent}" is not a policy intent`);
    const inTrain = train.get(key);
    if (inTrain !== undefined) problems.push(`${r.id}: its text is also an example utterance of "${inTrain}" (train/test overlap)`);
  }
  for (const name of intents) if (!rows.some((r) => r.intent === name)) problems.push(`intent "${name}" has no evaluation row`);
  return problems;
}
