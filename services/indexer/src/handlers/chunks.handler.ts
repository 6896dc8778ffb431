import { Payload } from '@nestjs/microservices';
import { KafkaEventPattern, KafkaHandlers, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type ChunkEmbedded } from '@llmgov/contracts';
import { IndexingService } from '../services/indexing.service.js';

@KafkaHandlers()
export class ChunksHandler {
  constructor(private readonly indexing: IndexingService) {}

  @KafkaEventPattern(Topics.chunkEmbedded)
  onChunk(@Payload() chunk: ChunkEmbedded): Promise<HandlerOutcome> {
    return this.indexing.index(chunk);
  }
}
