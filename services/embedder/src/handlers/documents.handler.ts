import { Ctx, Payload } from '@nestjs/microservices';
import { KafkaEventPattern, KafkaHandlers, type HandlerOutcome, type RecordContext } from '@llmgov/kafka-runtime';
import { Topics, type DocumentValidated } from '@llmgov/contracts';
import { EmbeddingService } from '../services/embedding.service.js';

@KafkaHandlers()
export class DocumentsHandler {
  constructor(private readonly embedding: EmbeddingService) {}

  /** A validated document, or its tombstone (null value; key `<tenant>/<document>`), which goes on to the indexer. */
  @KafkaEventPattern(Topics.documentValidated, { tombstones: true })
  onValidated(@Payload() doc: DocumentValidated | null, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    return doc === null ? this.embedding.forwardTombstone(ctx.key) : this.embedding.embedDocument(doc);
  }
}
