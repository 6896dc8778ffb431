import { Ctx, Payload } from '@nestjs/microservices';
import { KafkaEventPattern, KafkaHandlers, Outcome, type HandlerOutcome, type RecordContext } from '@llmgov/kafka-runtime';
import { Topics, type ChunkEmbedded } from '@llmgov/contracts';
import { IndexingService } from '../services/indexing.service.js';

/** Set by the embedder on chunks embedded for a tenant's index version (`llmgov reindex`). */
const INDEX_VERSION_HEADER = 'x-llmgov-index-version';

@KafkaHandlers()
export class ChunksHandler {
  constructor(private readonly indexing: IndexingService) {}

  /** An embedded chunk, or a document's tombstone (null value, key `<tenant>/<document>`): the document is deleted. */
  @KafkaEventPattern(Topics.chunkEmbedded, { tombstones: true })
  async onChunk(@Payload() chunk: ChunkEmbedded | null, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    if (chunk !== null) return this.indexing.index(chunk, ctx.headers[INDEX_VERSION_HEADER]);
    // Document ids have no '/' (ingest-validator's id format), so the key splits at its last one.
    const at = ctx.key?.lastIndexOf('/') ?? -1;
    if (!ctx.key || at <= 0 || at === ctx.key.length - 1) {
      return Outcome.skipped(`tombstone key ${JSON.stringify(ctx.key?.slice(0, 100) ?? null)} is not <tenant_id>/<document_id>`);
    }
    await this.indexing.removeDocument(ctx.key.slice(0, at), ctx.key.slice(at + 1));
    return Outcome.success();
  }
}
