export { runClassifierBench, formatTable, parseMethod, methodLabel, type BenchOptions, type BenchSummary, type MethodResult } from './run.js';
export { parseEvalSet, loadEvalSet, loadClassifierSettings, splitProblems, utteranceKey, type EvalRow } from './eval-set.js';
export { accuracyReport, percentile, distribution, type AccuracyReport, type Distribution } from './metrics.js';
