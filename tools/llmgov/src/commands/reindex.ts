import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadPlatformConfig, retrievalEnv } from '@llmgov/config';
import { configuredEmbeddingSpace, embeddingsClientFromSettings } from '@llmgov/embeddings';
import { createRedis, RedisSemanticCache } from '@llmgov/persistence';
import { indexVersion, vectorStoreFromSettings, type VectorStore } from '@llmgov/vector-store';
import { CliError, printJson, withDatabase } from '../cli.js';
import {
  VERSION_RE,
  activeVersion,
  clientOf,
  embeddingPrice,
  parseEmbeddingModel,
  planReindex,
  registerBaseline,
  rollbackReindex,
  runReindex,
  tenantAlias,
  type IndexVersionSpec,
  type ReindexProgress,
} from '../reindex.js';

/** The catalog the cost-attributor ships and bills by (this file compiles to tools/llmgov/dist/src/commands/). */
const DEFAULT_PRICE_CATALOG = fileURLToPath(new URL('../../../../../services/cost-attributor/price-catalog/v2.json', import.meta.url));

const TENANT_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function tenantArg(v: string): string {
  if (!TENANT_RE.test(v)) throw new InvalidArgumentError('a tenant id is 1-64 of [a-z0-9_-], starting alphanumeric');
  return v;
}
function versionArg(v: string): string {
  if (!VERSION_RE.test(v)) throw new InvalidArgumentError('a version is v2, v3, ... (v1 is the shared collection every tenant starts on)');
  return v;
}
function intArg(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^[0-9]+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    return n;
  };
}
/** `--rate N/s` (or `N`): documents per second. */
export function rateArg(v: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(?:\/s)?$/.exec(v);
  const n = m ? Number(m[1]) : NaN;
  if (!(n > 0) || n > 10_000) throw new InvalidArgumentError('expected a rate such as 20/s (documents per second, at most 10000)');
  return n;
}

interface ReindexOptions {
  tenant: string;
  toVersion: string;
  embeddingModel: string;
  embeddingsUrl?: string;
  dimensions: number;
  chunkTokens: number;
  overlap: number;
  rate?: number;
  dryRun?: boolean;
  golden?: string;
  maxRecallDrop: number;
  usdPerMtok?: number;
  priceCatalog: string;
  json?: boolean;
}

/** The serving side: the tenant's active version, or the platform's configured model in its shared collection. */
function servingOf(active: Awaited<ReturnType<typeof activeVersion>>) {
  const config = loadPlatformConfig(retrievalEnv);
  if (active) {
    const spec: IndexVersionSpec = {
      embeddings: active.embeddings === 'openai' ? 'openai' : 'local',
      embeddingsUrl: active.embeddings_url,
      model: active.embedding_model,
      dimensions: active.dimensions,
      chunkTokens: active.chunk_tokens,
      chunkOverlap: active.chunk_overlap,
    };
    return { spec, client: clientOf(spec), collection: active.collection, config };
  }
  const space = configuredEmbeddingSpace(config);
  const spec: IndexVersionSpec = {
    embeddings: config.EMBEDDINGS,
    embeddingsUrl: config.EMBEDDINGS_URL ?? null,
    model: space.model,
    dimensions: space.dimensions,
    chunkTokens: config.CHUNK_MAX_TOKENS,
    chunkOverlap: config.CHUNK_OVERLAP_TOKENS,
  };
  return { spec, client: embeddingsClientFromSettings(config), collection: indexVersion(space), config };
}

function storeOf(config: Parameters<typeof vectorStoreFromSettings>[0]): VectorStore {
  return vectorStoreFromSettings(config);
}

function bar(json: boolean | undefined): ReindexProgress | undefined {
  if (json) return undefined;
  const b = new cliProgress.SingleBar(
    {
      format: 're-embedding [{bar}] {value}/{total} documents | ETA {eta_formatted} | {doc}',
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let n = 0;
  return {
    start: (total) => {
      n = 0;
      b.start(total, 0, { doc: '' });
    },
    tick: (doc) => b.update(++n, { doc: doc.slice(0, 40) }),
    stop: () => b.stop(),
  };
}

/** `llmgov reindex ...` and `llmgov reindex rollback`. */
export function registerReindexCommands(program: Command): void {
  const reindex = program
    .command('reindex')
    .description('re-embed a tenant’s corpus into a new index version while the current one serves; swap when verified')
    // Not requiredOption: `reindex rollback` must parse without them (checked in the action instead). Commander gives
    // `reindex rollback --tenant T`'s --tenant to this command (the program's options are not positional), so
    // rollback reads it from here.
    .option('--tenant <id>', 'tenant whose corpus is re-indexed (required)', tenantArg)
    .option('--to-version <v>', 'new index version name: v2, v3, ... (required)', versionArg)
    .option('--embedding-model <m>', '`local` or `local:<dimensions>` (hashing embedder), or an OpenAI-compatible model name (with --embeddings-url)')
    .addOption(new Option('--embeddings-url <url>', 'OpenAI-compatible embeddings endpoint for a named model').env('EMBEDDINGS_URL'))
    .option('--dimensions <n>', 'vector length of the model (local: also `local:<n>`)', intArg(1, 65_536), 384)
    .option('--chunk-tokens <n>', 'chunk size, tokens (cl100k_base)', intArg(16, 8192), 256)
    .option('--overlap <n>', 'chunk overlap, tokens', intArg(0, 4096), 32)
    .option('--rate <n/s>', 'documents re-embedded per second at most', rateArg)
    .option('--golden <name>', 'golden set whose recall@5 must not drop (items of this tenant with a source document)')
    .option(
      '--max-recall-drop <fraction>',
      'largest recall@5 drop on --golden still counted as no worse (BM25 ties move single items)',
      (v) => Number(v),
      0.005,
    )
    .option('--usd-per-mtok <usd>', 'embedding price, USD per million tokens (default: the price catalog’s for the model)', (v) => Number(v))
    .option('--price-catalog <path>', 'price catalog file', DEFAULT_PRICE_CATALOG)
    .option('--dry-run', 'print what would be re-embedded, the chunk and token estimate and cost; change nothing')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Documents come from the source of record, the documents table in Postgres (ingest-validator stores the validated text).
The new version is a new collection; the current one keeps serving until the new one is verified (chunk counts match;
recall@5 on --golden no worse), then the tenant's alias swaps to it atomically and the cached answers built on the
tenant's documents are dropped. The old version is kept: \`llmgov reindex rollback --tenant T\`.

Examples:
  llmgov reindex --tenant tenant-a --to-version v2 --embedding-model local:256 --chunk-tokens 128 --overlap 16 --dry-run
  llmgov reindex --tenant tenant-a --to-version v2 --embedding-model all-MiniLM-L6-v2 --embeddings-url http://127.0.0.1:18090/v1 --rate 20/s --golden squad-50`,
    )
    .action(async (opts: ReindexOptions) => {
      const missing = (['tenant', 'toVersion', 'embeddingModel'] as const).filter((k) => opts[k] === undefined);
      if (missing.length > 0) {
        throw new CliError(`required: ${missing.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`, 'invalid_argument');
      }
      if (opts.overlap >= opts.chunkTokens) throw new CliError('--overlap must be smaller than --chunk-tokens', 'invalid_argument');
      let spec: IndexVersionSpec;
      try {
        spec = parseEmbeddingModel(opts.embeddingModel, {
          dimensions: opts.dimensions,
          embeddingsUrl: opts.embeddingsUrl,
          chunkTokens: opts.chunkTokens,
          chunkOverlap: opts.overlap,
        });
      } catch (err) {
        throw new CliError((err as Error).message, 'invalid_argument');
      }
      let price: { usdPerMillionTokens: number | null; source: string } = { usdPerMillionTokens: opts.usdPerMtok ?? null, source: '--usd-per-mtok' };
      if (opts.usdPerMtok === undefined) {
        try {
          price = embeddingPrice(readFileSync(opts.priceCatalog, 'utf8'), spec.model);
        } catch (err) {
          throw new CliError(`cannot read the price catalog ${opts.priceCatalog}: ${(err as Error).message}`, 'invalid_argument');
        }
      }
      if (price.usdPerMillionTokens !== null && !(price.usdPerMillionTokens >= 0))
        throw new CliError('--usd-per-mtok must be a price >= 0', 'invalid_argument');
      const usdPerMillionTokens = price.usdPerMillionTokens ?? 0;
      await withDatabase(async (pool) => {
        const plan = await planReindex(pool, {
          tenant: opts.tenant,
          version: opts.toVersion,
          spec,
          usdPerMillionTokens,
          ratePerSecond: opts.rate ?? null,
        });
        if (opts.dryRun) {
          if (opts.json) printJson({ dry_run: true, ...plan, price_source: price.source, priced: price.usdPerMillionTokens !== null });
          else {
            console.log(
              `re-index of ${plan.tenant} into ${plan.version} (${plan.collection}), serving now: ${plan.current?.version ?? 'the configured model (v1)'}`,
            );
            console.log(
              `  documents ${plan.documents}, chunks ${plan.chunks}, tokens ${plan.tokens}, cost ${price.usdPerMillionTokens === null ? 'unknown' : `${plan.costUsd.toFixed(6)} USD`} (${price.source})`,
            );
            if (plan.etaSeconds !== null) console.log(`  at the rate limit: about ${Math.ceil(plan.etaSeconds)} s`);
            if (plan.withoutText.length > 0)
              console.log(`  ${plan.withoutText.length} documents have no stored text (accepted before migration 012): submit them again`);
          }
          return;
        }
        const serving = servingOf(plan.current);
        const store = storeOf(serving.config);
        const redis = createRedis(serving.config.REDIS_URL);
        try {
          if (!plan.current) await registerBaseline(pool, store, opts.tenant, serving.spec, serving.collection);
          const mode = spec.embeddings === 'local' ? 'sparse' : 'hybrid';
          const result = await runReindex(pool, store, new RedisSemanticCache(redis), {
            tenant: opts.tenant,
            version: opts.toVersion,
            spec,
            usdPerMillionTokens,
            ratePerSecond: opts.rate ?? null,
            golden: opts.golden ?? null,
            maxRecallDrop: opts.maxRecallDrop,
            serving: { client: serving.client, collection: serving.collection },
            mode,
            progress: bar(opts.json),
          });
          if (opts.json) printJson(result);
          else {
            console.log(`embedded ${result.embeddedDocuments} documents; chunks ${result.foundChunks} found / ${result.expectedChunks} expected`);
            if (result.recallBefore !== null)
              console.log(
                `recall@5 on ${opts.golden} (${result.goldenItems} items): before ${result.recallBefore.toFixed(3)}, after ${result.recallAfter?.toFixed(3)}`,
              );
            console.log(
              result.swapped
                ? `swapped ${tenantAlias(opts.tenant)} to ${result.plan.collection}; ${result.invalidatedEntries} cached answers dropped`
                : `not swapped: ${result.reason}`,
            );
          }
          if (!result.swapped) process.exitCode = 1;
        } catch (err) {
          throw new CliError((err as Error).message, 'reindex_failed');
        } finally {
          redis.disconnect();
          await store.close();
        }
      });
    });

  reindex
    .command('rollback')
    .description('make the tenant’s previous index version active again (its collection was kept)')
    .option('--tenant <id>', 'tenant (required)', tenantArg)
    .option('--json', 'print the result as JSON')
    .action(async (own: { tenant?: string; json?: boolean }, cmd: Command) => {
      const parent = cmd.parent?.opts<{ tenant?: string; json?: boolean }>() ?? {};
      const opts = { tenant: own.tenant ?? parent.tenant, json: own.json ?? parent.json };
      if (opts.tenant === undefined) throw new CliError('required: --tenant', 'invalid_argument');
      const tenant = opts.tenant;
      await withDatabase(async (pool) => {
        const config = loadPlatformConfig(retrievalEnv);
        const store = storeOf(config);
        const redis = createRedis(config.REDIS_URL);
        try {
          const r = await rollbackReindex(pool, store, new RedisSemanticCache(redis), tenant);
          if (opts.json) printJson(r);
          else console.log(`rolled back ${tenant}: ${r.from ?? '-'} → ${r.to} (${r.collection}); ${r.invalidatedEntries} cached answers dropped`);
        } catch (err) {
          throw new CliError((err as Error).message, 'rollback_failed');
        } finally {
          redis.disconnect();
          await store.close();
        }
      });
    });
}
