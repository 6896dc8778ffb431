import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { EventPublisher, Outcome, deterministicEventId, newEnvelope, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { RetriableError } from '@llmgov/errors';
import { EffectMarkersRepository, IndexVersionsRepository, RedisKeys, type IndexVersionRecord } from '@llmgov/persistence';
import { Bm25SparseEncoder, EmbeddingsClientCache, EmbeddingsError, chunkText, type EmbeddingsClient, type EmbeddingsResult } from '@llmgov/embeddings';
import { Topics, type ChunkEmbedded, type DocumentValidated, type UsageRecorded } from '@llmgov/contracts';
import { EMBEDDER_CONFIG, type EmbedderConfig } from '../config.js';

export const EMBEDDINGS_CLIENT = Symbol('EMBEDDINGS_CLIENT');
const DONE_TTL_S = 30 * 24 * 3600;
/** Header of a chunk record written for a tenant's index version (issue 12 §2): the indexer puts it in that version's collection. */
export const INDEX_VERSION_HEADER = 'x-llmgov-index-version';

/** Where one embedding of a document goes: the shared collection (no version) or a tenant's index version. */
interface Target {
  version: IndexVersionRecord | null;
  client: EmbeddingsClient;
  chunkTokens: number;
  chunkOverlap: number;
}

/** Chunks validated documents, embeds the chunks (dense + BM25 sparse), publishes them and an EMBEDDING usage event. */
@Injectable()
export class EmbeddingService {
  private readonly sparse = new Bm25SparseEncoder();

  constructor(
    @Inject(EMBEDDER_CONFIG) private readonly config: EmbedderConfig,
    @Inject(EMBEDDINGS_CLIENT) private readonly embeddings: EmbeddingsClient,
    private readonly markers: EffectMarkersRepository,
    private readonly publisher: EventPublisher,
    /** The tenants' index versions (absent in unit specs that do not exercise them: the shared collection only). */
    @Optional() private readonly versions?: IndexVersionsRepository,
  ) {}

  /** Embeddings clients of index versions, by their settings (one per distinct model configuration). */
  private readonly clients = new EmbeddingsClientCache();

  /**
   * The shared collection's embedding, plus one per index version of the tenant that is being built, active or kept for
   * rollback (each with its own model and chunking), so that documents that arrive during and after a re-index reach
   * every version. A version whose collection is the shared one (`v1`) is not written twice.
   */
  private async targets(tenantId: string): Promise<Target[]> {
    const shared: Target = {
      version: null,
      client: this.embeddings,
      chunkTokens: this.config.CHUNK_MAX_TOKENS,
      chunkOverlap: this.config.CHUNK_OVERLAP_TOKENS,
    };
    if (!this.versions) return [shared];
    const out = [shared];
    for (const v of await this.versions.writeTargets(tenantId)) {
      if (v.version === 'v1') continue;
      out.push({ version: v, client: this.clients.clientFor(v), chunkTokens: v.chunkTokens, chunkOverlap: v.chunkOverlap });
    }
    return out;
  }

  /**
   * A tombstone of a document (key `<tenant>/<document>`) is passed on to the chunks topic under the same key: the
   * indexer deletes the document's chunks from every index version. Ordered after the document's chunks (same key).
   * @throws KafkaJS errors when the broker cannot be reached (retried by the runtime).
   */
  async forwardTombstone(key: string | null): Promise<HandlerOutcome> {
    if (!key || key.lastIndexOf('/') <= 0)
      return Outcome.skipped(`tombstone key ${JSON.stringify(key?.slice(0, 100) ?? null)} is not <tenant_id>/<document_id>`);
    await this.publisher.publishTombstone(Topics.chunkEmbedded, key);
    return Outcome.success();
  }

  /**
   * Idempotent by (tenant, document, content hash, validated event id, embedding space): a redelivered document whose
   * chunks the model now serving already embedded is not published again; the marker is written only after every chunk
   * was acknowledged. The validated event id is in the key so that only a redelivery is deduplicated: a new submission
   * of the same text (after a delete, or re-published on purpose) is a new event and is embedded again (issue 12: the
   * marker keyed by content alone kept a deleted and re-submitted document out of the index for 30 days).
   * The embedding space is what the endpoint reports with the vectors (model, model version, dimensions), not the
   * configured name, so a new model or version behind the same name re-embeds. Hence the document is embedded before
   * the marker is read: only then is the serving model known. That costs one embedding per redelivery, which is rare
   * (ingest-validator already drops unchanged re-submissions by content hash), and never publishes a stale space's key.
   * @throws RetriableError when the embeddings endpoint fails retriably.
   */
  async embedDocument(doc: DocumentValidated): Promise<HandlerOutcome> {
    const outcomes: HandlerOutcome[] = [];
    for (const target of await this.targets(doc.tenant_id)) outcomes.push(await this.embedFor(doc, target));
    return outcomes.find((o) => o.status === 'success') ?? outcomes[0]!;
  }

  /** One target's embedding of the document (see embedDocument). */
  private async embedFor(doc: DocumentValidated, target: Target): Promise<HandlerOutcome> {
    const chunks = chunkText(doc.text, target.chunkTokens, target.chunkOverlap);
    if (chunks.length === 0) return Outcome.skipped('no text to embed');
    let result;
    try {
      result = await target.client.embed(chunks.map((c) => c.text));
    } catch (err) {
      if (err instanceof EmbeddingsError && err.retriable) throw new RetriableError(err.message, 'embeddings_unavailable', { cause: err });
      throw err;
    }
    const version = target.version?.version;
    const doneKey = RedisKeys.documentEmbedded(
      doc.tenant_id,
      doc.document_id,
      `${doc.content_hash}:${doc.event_id}`,
      version === undefined ? modelTag(result) : `${modelTag(result)}:${version}`,
    );
    if (await this.markers.isDone(doneKey)) return Outcome.skipped('already embedded with this content and model');
    const headers: Record<string, string> = version === undefined ? {} : { [INDEX_VERSION_HEADER]: version };
    const records = chunks.map((chunk, i) => {
      const sparse = this.sparse.encode(chunk.text);
      const value: ChunkEmbedded = {
        ...newEnvelope(doc.tenant_id, doc.document_id),
        event_id: deterministicEventId(doneKey, 'chunk', String(chunk.index)),
        document_id: doc.document_id,
        chunk_id: `${doc.document_id}#${chunk.index}`,
        chunk_index: chunk.index,
        chunk_count: chunks.length,
        title: doc.title,
        text: chunk.text,
        token_count: chunk.tokenCount,
        content_hash: createHash('sha256').update(chunk.text).digest('hex'),
        embedding_model: result.model,
        embedding_model_version: result.modelVersion,
        dense: Array.from(result.vectors[i]!),
        sparse_indices: sparse.indices,
        sparse_values: sparse.values,
        metadata: doc.metadata,
      };
      return { value, headers };
    });
    await this.publisher.publishMany(Topics.chunkEmbedded, records);
    // Deterministic: a crash between this publish and the marker below redelivers the document, and the cost ledger
    // (which deduplicates by event_id) bills the embedding once.
    const usage: UsageRecorded = {
      ...newEnvelope(doc.tenant_id, doc.document_id),
      event_id: deterministicEventId(doneKey, 'usage'),
      job_id: null,
      kind: 'EMBEDDING',
      model: result.model,
      tier: null,
      pool: null,
      endpoint: null,
      prompt_tokens: result.usage.prompt_tokens,
      completion_tokens: 0,
      gpu_seconds: 0,
      team: doc.metadata['team'] ?? null,
      feature: 'indexing',
      route: null,
      policy_version: null,
      e2e_ms: 0,
      queue_ms: null,
      ttft_ms: null,
      tpot_ms: null,
      gpu_type: null,
      usd_per_gpu_hour: null,
    };
    await this.publisher.publish(Topics.usageRecorded, { value: usage });
    await this.markers.markDone(doneKey, '1', DONE_TTL_S);
    return Outcome.success();
  }
}

/**
 * The embedding space of a result as the idempotency key's model part: `<model>@<modelVersion>:<dimensions>`, as the
 * endpoint reported them. A change of any of the three re-embeds every document.
 */
export function modelTag(result: Pick<EmbeddingsResult, 'model' | 'modelVersion' | 'dimensions'>): string {
  return `${result.model}@${result.modelVersion}:${result.dimensions}`;
}
