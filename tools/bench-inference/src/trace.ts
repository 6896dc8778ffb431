import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';

/** One request of an Azure LLM inference trace. */
export interface TraceRequest {
  /** Arrival time relative to the first request of the trace, ms. */
  offsetMs: number;
  /** Prompt tokens (count). */
  contextTokens: number;
  /** Output tokens (count). */
  generatedTokens: number;
}

/**
 * Reads a trace in the Azure LLM inference trace CSV format (`TIMESTAMP,ContextTokens,GeneratedTokens`, timestamps
 * like `2023-11-16 18:15:46.6805900`, UTC). Rows are sorted by arrival.
 * @throws Error naming the line of the first malformed row.
 */
export function readAzureTrace(path: string): TraceRequest[] {
  const rows = parse(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  const parsed = rows.map((r, i) => {
    const ts = parseTimestamp(r['TIMESTAMP'] ?? '');
    const contextTokens = Number(r['ContextTokens']);
    const generatedTokens = Number(r['GeneratedTokens']);
    if (!Number.isFinite(ts) || !Number.isInteger(contextTokens) || contextTokens < 1 || !Number.isInteger(generatedTokens) || generatedTokens < 1) {
      throw new Error(`${path}: line ${i + 2} is not TIMESTAMP,ContextTokens,GeneratedTokens: ${JSON.stringify(r)}`);
    }
    return { ts, contextTokens, generatedTokens };
  });
  parsed.sort((a, b) => a.ts - b.ts);
  const t0 = parsed[0]?.ts ?? 0;
  return parsed.map((p) => ({ offsetMs: p.ts - t0, contextTokens: p.contextTokens, generatedTokens: p.generatedTokens }));
}

/** `2023-11-16 18:15:46.6805900` (UTC, up to 7 fractional digits) → epoch ms with sub-ms precision. */
function parseTimestamp(s: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?$/.exec(s);
  if (!m) return Number.NaN;
  const whole = Date.parse(`${m[1]}T${m[2]}Z`);
  const frac = m[3] ? Number(`0.${m[3]}`) * 1000 : 0;
  return whole + frac;
}

/**
 * The requests arriving in the first `durationS` seconds of the trace once sped up `speed` times. When the sped-up
 * trace is shorter than that, it is replayed again from its start (a new lap every span + one mean inter-arrival gap),
 * so a long soak at a high speed keeps the trace's arrival pattern.
 */
export function window(trace: readonly TraceRequest[], speed: number, durationS: number): { atMs: number; req: TraceRequest }[] {
  const limitMs = durationS * 1000;
  const lastMs = trace.at(-1)?.offsetMs ?? 0;
  const lapMs = trace.length > 1 ? lastMs + lastMs / (trace.length - 1) : 0;
  const out: { atMs: number; req: TraceRequest }[] = [];
  for (let lap = 0; lap === 0 || (lapMs > 0 && (lap * lapMs) / speed < limitMs); lap++) {
    for (const req of trace) {
      const atMs = (lap * lapMs + req.offsetMs) / speed;
      if (atMs < limitMs) out.push({ atMs, req });
    }
  }
  return out;
}
