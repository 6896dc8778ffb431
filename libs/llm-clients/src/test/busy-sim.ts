import { startEngine, type EngineHandle } from '@llmgov/vllm-sim';

/**
 * A vllm-sim engine serving model `m` with 2 sequence slots and 8 waiting, a 10,000-token KV cache, no prefill time
 * and 5 ms per decode step: a few long streams keep it visibly busy for the metrics scrapers' specs.
 */
export function startTwoSlotSim(): Promise<EngineHandle> {
  return startEngine({
    models: ['m'],
    maxNumSeqs: 2,
    maxWaiting: 8,
    kvCacheTokens: 10_000,
    prefillBaseMs: 0,
    prefillMsPerToken: 0,
    decodeBaseMs: 5,
    decodeMsPerSeq: 0,
  });
}
