export { goldRank, percentile, ScoreAccumulator, type RetrievalScores } from './metrics.js';
export { LEXICAL_QUERY_FORMS, lexicalQuery, parseVariant, variantLabel, type HybridVariant, type LexicalQueryForm } from './settings.js';
export { formatTable, runRetrievalBench, type BenchOptions, type BenchProgress, type BenchSummary, type RowResult } from './run.js';
