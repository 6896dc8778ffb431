import { Payload } from '@nestjs/microservices';
import { KafkaEventPattern, KafkaHandlers, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type DocumentValidated } from '@llmgov/contracts';
import { EmbeddingService } from '../services/embedding.service.js';

@KafkaHandlers()
export class DocumentsHandler {
  constructor(private readonly embedding: EmbeddingService) {}

  @KafkaEventPattern(Topics.documentValidated)
  onValidated(@Payload() doc: DocumentValidated): Promise<HandlerOutcome> {
    return this.embedding.embedDocument(doc);
  }
}
