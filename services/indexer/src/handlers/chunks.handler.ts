import { Injectable } from '@nestjs/common';
import { KafkaHandler, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type ChunkEmbedded } from '@llmgov/contracts';
import { IndexingService } from '../services/indexing.service.js';

@Injectable()
export class ChunksHandler {
  constructor(private readonly indexing: IndexingService) {}

  @KafkaHandler(Topics.chunkEmbedded)
  onChunk(chunk: ChunkEmbedded): Promise<HandlerOutcome> {
    return this.indexing.index(chunk);
  }
}
