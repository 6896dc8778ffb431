export { ClassifierError, type ClassifierErrorCode } from './errors.js';
export { classifierSettingsSchema, parseClassifierSettings, MAX_EXAMPLE_CHARS, type ClassifierSettings, type IntentSettings } from './settings.js';
export {
  IntentClassifier,
  DEFAULT_INTENT_METHOD,
  DEFAULT_MAX_TEXT_CHARS,
  type Classification,
  type ClassifierOptions,
  type ClassifyOptions,
  type EmbedTexts,
  type IntentMethod,
  type IntentScore,
} from './classifier.js';
export { complexityScore, complexityFeatures, COMPLEXITY_WEIGHTS, COMPLEXITY_WORDS_CAP, type ComplexityFeatures, type ComplexityResult } from './complexity.js';
export { riskScore, PII_RISK_WEIGHTS, HIGH_RISK_INTENT_WEIGHT, type RiskInput, type RiskResult } from './risk.js';
export { unitVector, meanDirection, dotRow } from './vectors.js';
