import { readFileSync } from 'node:fs';
import { z } from 'zod';

const usd = z.number().finite().nonnegative();

/** Token-priced model (hosted API or any model billed per token): USD per one million tokens. */
const apiPrice = z.strictObject({
  kind: z.literal('api'),
  input_per_1m_tokens: usd,
  output_per_1m_tokens: usd,
  notes: z.string().optional(),
});

/** Self-hosted model on a GPU pool: USD per GPU-hour, charged by the GPU-seconds the call used. */
const selfHostedPrice = z.strictObject({
  kind: z.literal('self_hosted'),
  gpu_type: z.string().min(1),
  usd_per_gpu_hour: usd,
  notes: z.string().optional(),
});

const modelPrice = z.discriminatedUnion('kind', [apiPrice, selfHostedPrice]);

/** The price catalog file format (`price-catalog/v*.json`). */
export const priceCatalogSchema = z.strictObject({
  /** Catalog version, written into every cost record (`price_catalog_version`). */
  version: z.string().min(1).max(64),
  currency: z.literal('USD'),
  /** Where the prices come from. */
  sources: z.array(z.string()).default([]),
  models: z.record(z.string().min(1).max(256), modelPrice),
  /** Price of any model not listed in `models`. */
  default: modelPrice,
});

export type PriceCatalog = z.infer<typeof priceCatalogSchema>;
export type ModelPrice = z.infer<typeof modelPrice>;

/** The catalog file is missing, not JSON, or not a valid catalog. `problems` lists every problem found. */
export class PriceCatalogError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid price catalog ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PriceCatalogError';
  }
}

/**
 * Validates a parsed catalog. `source` names it in errors (a file path).
 * @throws PriceCatalogError listing every invalid field as `path.to.field: problem`.
 */
export function parsePriceCatalog(json: unknown, source: string): PriceCatalog {
  const result = priceCatalogSchema.safeParse(json);
  if (result.success) return result.data;
  throw new PriceCatalogError(
    source,
    result.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`),
  );
}

/**
 * Reads and validates the catalog file at `path` (run once at start-up, so a bad catalog stops the service
 * with a clear message instead of mispricing events).
 * @throws PriceCatalogError when the file cannot be read, is not JSON, or is not a valid catalog.
 */
export function loadPriceCatalog(path: string): PriceCatalog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PriceCatalogError(path, [`cannot be read: ${(err as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PriceCatalogError(path, [`is not valid JSON: ${(err as Error).message}`]);
  }
  return parsePriceCatalog(json, path);
}
