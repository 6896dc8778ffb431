/**
 * A small safety lexicon for model output: phrases that, in an answer, give operational help with serious harm.
 * Written here rather than taken from a library: which categories the platform refuses is governance policy, and the
 * maintained classifiers (OpenAI moderation, Llama Guard) are model calls, not cheap checks. The categories follow
 * the hazard taxonomy of MLCommons AILuminate v1.0 (violent crimes, weapons of mass destruction, self-harm, sexual
 * content involving minors), narrowed to instructional phrasing so that factual prose (a history of the atomic bomb,
 * a news report of a crime) does not match.
 */

/** Hazard categories the lexicon detects. */
export const SAFETY_CATEGORIES = ['weapons', 'violence', 'self_harm', 'child_abuse'] as const;
export type SafetyCategory = (typeof SAFETY_CATEGORIES)[number];

const STEP = String.raw`(how to|steps? to|instructions? (for|to)|guide to|recipe for|(best|easiest|simplest) way to|you can|first,? you)`;

const SAFETY_RULES: [SafetyCategory, RegExp][] = [
  [
    'weapons',
    new RegExp(
      String.raw`\b${STEP}\b[^.\n]{0,40}\b(make|build|assemble|synthesi[sz]e|produce)\b[^.\n]{0,30}\b(bomb|explosive|pipe bomb|nerve agent|sarin|ricin|bioweapon|chemical weapon|napalm|molotov)`,
      'i',
    ),
  ],
  ['weapons', /\b(mix|combine)\b[^.\n]{0,40}\b(to (make|create|get))\b[^.\n]{0,20}\b(explosive|toxic gas|poison gas)/i],
  [
    'violence',
    new RegExp(String.raw`\b${STEP}\b[^.\n]{0,40}\b(kill|murder|poison|strangle|kidnap)\b[^.\n]{0,30}\b(someone|a person|people|your|him|her|them)\b`, 'i'),
  ],
  ['self_harm', /\b(you should|best way to|how to|easiest way to)\b[^.\n]{0,30}\b(kill yourself|end your life|commit suicide|self[- ]harm|cut yourself)/i],
  ['child_abuse', /\b(sexual|explicit|nude)\b[^.\n]{0,30}\b(child|minor|underage|kid)s?\b/i],
];

/**
 * Hazard categories whose phrases occur in `text`, each once, in {@link SAFETY_CATEGORIES} order; empty for safe text.
 * Case-insensitive; a phrase must stay within one sentence (no `.` or newline inside the match).
 */
export function safetyFlags(text: string): SafetyCategory[] {
  const found = new Set<SafetyCategory>();
  for (const [category, re] of SAFETY_RULES) if (re.test(text)) found.add(category);
  return SAFETY_CATEGORIES.filter((c) => found.has(c));
}
