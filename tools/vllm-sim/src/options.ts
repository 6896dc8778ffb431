import type { Clock } from './clock.js';
import { TOKENIZER_NAMES, type TokenizerName } from './tokenizer.js';

/** Options of one simulated engine. Every field is optional; defaults in {@link DEFAULT_OPTIONS}. Durations in ms. */
export interface EngineOptions {
  /** TCP port; 0 picks a free one. startEngine defaults to 0, the CLI to 18000. */
  port?: number;
  host?: string;
  /** Served model names (aliases of one engine; metrics are labelled with the first). */
  models?: string[];
  /** Running-batch size (vLLM --max-num-seqs). */
  maxNumSeqs?: number;
  /** Waiting-queue cap; arrivals beyond it get 503. */
  maxWaiting?: number;
  /** KV-cache capacity, tokens. */
  kvCacheTokens?: number;
  /** Longest prompt + max_tokens accepted, tokens; default and upper bound: kvCacheTokens. */
  maxModelLen?: number;
  prefillMsPerToken?: number;
  prefillBaseMs?: number;
  decodeBaseMs?: number;
  decodeMsPerSeq?: number;
  /** Output cap when a request gives no max_tokens. */
  defaultMaxTokens?: number;
  tokenizer?: TokenizerName;
  /** Largest accepted request body, bytes. */
  bodyLimitBytes?: number;
  /** Fraction (0..1) of generation requests answered with failStatus. */
  failRate?: number;
  failStatus?: number;
  /** Accept generation requests and never answer them. */
  hang?: boolean;
  /** Treat every request as `ignore_eos: true` (outputs exactly max_tokens), as in vLLM benchmark replays. */
  ignoreEos?: boolean;
  /** Seed of the fault-injection random stream (default: time based). */
  seed?: number;
  /** Time source (specs); default: the system clock. */
  clock?: Clock;
}

export type ResolvedOptions = Required<Omit<EngineOptions, 'clock' | 'seed'>> & { seed: number; clock: Clock | undefined };

export const DEFAULT_OPTIONS = {
  port: 0,
  host: '127.0.0.1',
  models: ['local-sim-model'],
  maxNumSeqs: 8,
  maxWaiting: 16,
  kvCacheTokens: 65_536,
  prefillMsPerToken: 0.05,
  prefillBaseMs: 5,
  decodeBaseMs: 10,
  decodeMsPerSeq: 1,
  defaultMaxTokens: 256,
  tokenizer: 'cl100k_base' as TokenizerName,
  bodyLimitBytes: 1024 * 1024,
  failRate: 0,
  failStatus: 500,
  hang: false,
  ignoreEos: false,
} as const;

function int(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${v}`);
  return v;
}

function num(name: string, v: number, min: number, max = Number.MAX_VALUE): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new RangeError(`${name} must be a number in [${min}, ${max}], got ${v}`);
  return v;
}

/** Applies defaults and checks ranges; throws RangeError naming the bad option. */
export function resolveOptions(o: EngineOptions = {}): ResolvedOptions {
  const d = DEFAULT_OPTIONS;
  const kvCacheTokens = int('kvCacheTokens', o.kvCacheTokens ?? d.kvCacheTokens, 2);
  const models = (o.models ?? [...d.models]).map((m) => m.trim()).filter((m) => m.length > 0);
  if (models.length === 0) throw new RangeError('at least one model name is required');
  const tokenizer = o.tokenizer ?? d.tokenizer;
  if (!TOKENIZER_NAMES.includes(tokenizer)) throw new RangeError(`tokenizer must be one of ${TOKENIZER_NAMES.join(', ')}, got ${tokenizer}`);
  return {
    port: int('port', o.port ?? d.port, 0, 65535),
    host: o.host ?? d.host,
    models,
    maxNumSeqs: int('maxNumSeqs', o.maxNumSeqs ?? d.maxNumSeqs, 1),
    maxWaiting: int('maxWaiting', o.maxWaiting ?? d.maxWaiting, 0),
    kvCacheTokens,
    maxModelLen: int('maxModelLen', o.maxModelLen ?? kvCacheTokens, 2, kvCacheTokens),
    prefillMsPerToken: num('prefillMsPerToken', o.prefillMsPerToken ?? d.prefillMsPerToken, 0, 1e4),
    prefillBaseMs: num('prefillBaseMs', o.prefillBaseMs ?? d.prefillBaseMs, 0, 1e6),
    decodeBaseMs: num('decodeBaseMs', o.decodeBaseMs ?? d.decodeBaseMs, 0, 1e6),
    decodeMsPerSeq: num('decodeMsPerSeq', o.decodeMsPerSeq ?? d.decodeMsPerSeq, 0, 1e6),
    defaultMaxTokens: int('defaultMaxTokens', o.defaultMaxTokens ?? d.defaultMaxTokens, 1),
    tokenizer,
    bodyLimitBytes: int('bodyLimitBytes', o.bodyLimitBytes ?? d.bodyLimitBytes, 1),
    failRate: num('failRate', o.failRate ?? d.failRate, 0, 1),
    failStatus: int('failStatus', o.failStatus ?? d.failStatus, 400, 599),
    hang: o.hang ?? d.hang,
    ignoreEos: o.ignoreEos ?? d.ignoreEos,
    seed: o.seed === undefined ? Date.now() >>> 0 : int('seed', o.seed, 0, 2 ** 32 - 1),
    clock: o.clock,
  };
}
