import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, classifyPgError, type Pool } from '@llmgov/persistence';

/** Content hashes of accepted documents, for dedupe. */
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
