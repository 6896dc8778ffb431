import { Injectable } from '@nestjs/common';
import { KafkaHandler, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type DocumentValidated } from '@llmgov/contracts';
import { EmbeddingService } from '../services/embedding.service.js';

@Injectable()
export class DocumentsHandler {
  constructor(private readonly embedding: EmbeddingService) {}

  @KafkaHandler(Topics.documentValidated)
  onValidated(doc: DocumentValidated): Promise<HandlerOutcome> {
    return this.embedding.embedDocument(doc);
  }
}
