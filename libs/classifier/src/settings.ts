import { z } from 'zod';
import { ClassifierError } from './errors.js';

/**
 * The classifier settings of a policy document (issue 10, section 1), exactly as the policy declares them. Defined here
 * until the policy registry publishes its own schema; the shapes must stay equal.
 * - `intents[].name`: the intent id a route or reason refers to (unique);
 * - `intents[].examples`: example utterances (the classifier's training data, never its evaluation data);
 * - `intents[].high_risk`: a request classified into this intent adds `high_risk_intent:<name>` to its risk;
 * - `intents[].cache_ttl_s`: cache time-to-live for answers of this intent, seconds (read by the cache, not here);
 * - `complexity_threshold`, `risk_threshold`: in 0..1, compared by the policy engine with the classifier's scores
 *   (seed 002, rule 1: at or below the complexity threshold and below the risk threshold → try the cache).
 * - `high_risk_min_score`, `high_risk_min_margin`: the confidence a high-risk intent needs: its `intent_score` (a cosine,
 *   −1..1) at least the first and its lead over the runner-up at least the second; otherwise the request gets the best
 *   intent that is not high risk (see IntentClassifier.classify). Absent: −1 and 0 (no floor). The policy schema's
 *   defaults are calibrated for all-MiniLM-L6-v2 with the default method (bench/README.md, "Classifier").
 */
export interface IntentSettings {
  name: string;
  examples: string[];
  high_risk?: boolean;
  cache_ttl_s?: number;
}
export interface ClassifierSettings {
  intents: IntentSettings[];
  complexity_threshold: number;
  risk_threshold: number;
  high_risk_min_score?: number;
  high_risk_min_margin?: number;
}

/** Longest example utterance accepted, characters (the embeddings server's `--max-input-chars` default). */
export const MAX_EXAMPLE_CHARS = 20_000;

const intentSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'an intent name is letters, digits and . _ : - (starting with a letter or digit)'),
  examples: z
    .array(
      z
        .string()
        .max(MAX_EXAMPLE_CHARS)
        .refine((s) => s.trim().length > 0, 'an example is empty or blank'),
    )
    .min(1, 'an intent needs at least one example'),
  high_risk: z.boolean().optional(),
  // 0 = never cache answers of this intent (as the policy schema allows it).
  cache_ttl_s: z.number().int().nonnegative().optional(),
});

/** zod schema of {@link ClassifierSettings}: unique intent names, no example shared by two intents, thresholds in 0..1. */
export const classifierSettingsSchema = z
  .object({
    intents: z.array(intentSchema).min(2, 'at least two intents: with one, every request would get it'),
    complexity_threshold: z.number().min(0).max(1),
    risk_threshold: z.number().min(0).max(1),
    high_risk_min_score: z.number().min(-1).max(1).optional(),
    high_risk_min_margin: z.number().min(0).max(2).optional(),
  })
  .superRefine((s, ctx) => {
    const names = new Set<string>();
    const owner = new Map<string, string>();
    s.intents.forEach((intent, i) => {
      if (names.has(intent.name)) ctx.addIssue({ code: 'custom', path: ['intents', i, 'name'], message: `duplicate intent name "${intent.name}"` });
      names.add(intent.name);
      intent.examples.forEach((example, j) => {
        const key = example.trim().toLowerCase().replace(/\s+/g, ' ');
        const other = owner.get(key);
        if (other !== undefined && other !== intent.name) {
          ctx.addIssue({ code: 'custom', path: ['intents', i, 'examples', j], message: `example "${example.slice(0, 80)}" is also an example of "${other}"` });
        }
        owner.set(key, intent.name);
      });
    });
  });

/**
 * Validates untrusted classifier settings (e.g. from a policy file).
 * @throws ClassifierError `settings_invalid`, listing every problem as `path: message`.
 */
export function parseClassifierSettings(input: unknown): ClassifierSettings {
  const r = classifierSettingsSchema.safeParse(input);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ClassifierError('settings_invalid', `invalid classifier settings: ${problems.join('; ')}`);
}
