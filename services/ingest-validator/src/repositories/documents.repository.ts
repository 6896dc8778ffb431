import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, classifyPgError, type Pool } from '@llmgov/persistence';

/**
 * Accepted documents: the content hash (for dedupe) and, since migration 012, the validated text and fields, which make
 * this table the source of record that `llmgov reindex` rebuilds a tenant's corpus from.
 */
@Injectable()
export class DocumentsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The content hash last accepted for the document, if any. */
  async currentHash(tenantId: string, documentId: string): Promise<string | undefined> {
    try {
      const r = await this.pool.query<{ content_hash: string }>('SELECT content_hash FROM documents WHERE tenant_id = $1 AND document_id = $2', [
        tenantId,
        documentId,
      ]);
      return r.rows[0]?.content_hash;
    } catch (err) {
      throw classifyPgError(err);
    }
  }

  /**
   * Records the validated document as accepted (insert or replace): its content hash and the normalised, PII-masked
   * text and fields that were forwarded downstream.
   */
  async recordDocument(doc: {
    tenant_id: string;
    document_id: string;
    content_hash: string;
    source: string;
    title: string;
    text: string;
    language: string;
    metadata: Record<string, string>;
  }): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO documents (tenant_id, document_id, content_hash, source, title, text, language, metadata, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
         ON CONFLICT (tenant_id, document_id) DO UPDATE SET content_hash = EXCLUDED.content_hash, source = EXCLUDED.source,
           title = EXCLUDED.title, text = EXCLUDED.text, language = EXCLUDED.language, metadata = EXCLUDED.metadata, updated_at = now()`,
        [doc.tenant_id, doc.document_id, doc.content_hash, doc.source, doc.title, doc.text, doc.language, JSON.stringify(doc.metadata)],
      );
    } catch (err) {
      throw classifyPgError(err);
    }
  }

  /** Removes the document from the source of record; @returns whether it was there. */
  async remove(tenantId: string, documentId: string): Promise<boolean> {
    try {
      const r = await this.pool.query('DELETE FROM documents WHERE tenant_id = $1 AND document_id = $2', [tenantId, documentId]);
      return (r.rowCount ?? 0) > 0;
    } catch (err) {
      throw classifyPgError(err);
    }
  }

  /** Records the content hash accepted for the document (insert or replace). */
  async recordHash(tenantId: string, documentId: string, contentHash: string): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO documents (tenant_id, document_id, content_hash) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, document_id) DO UPDATE SET content_hash = EXCLUDED.content_hash`,
        [tenantId, documentId, contentHash],
      );
    } catch (err) {
      throw classifyPgError(err);
    }
  }
}
