-- Issue 12 §2 and §3. The documents table becomes the source of record of each tenant's corpus: ingest-validator stores
-- the validated (normalised, PII-masked) text it forwards, so a corpus can always be rebuilt into a new index version
-- without the documents topic (7-day retention, cleanup.policy delete) still holding it. A deleted document's row is
-- removed (DELETE /v1/documents/{id} or a tombstone on documents.document.submitted.v1). Rows accepted before this
-- migration have no text (NULL) and cannot be re-embedded until their document is submitted again; `llmgov reindex`
-- lists them.
ALTER TABLE documents
  ADD COLUMN source     text,
  ADD COLUMN title      text,
  ADD COLUMN text       text,
  ADD COLUMN language   text,
  ADD COLUMN metadata   jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- A tenant's index versions (`llmgov reindex`). A version is one collection of the vector store holding the tenant's
-- chunks embedded by one model with one chunking. At most one version per tenant is active (served by the router); a
-- tenant without an active row is served by the configured model's shared collection (revision v1). `retired` versions
-- are kept for `llmgov reindex rollback`.
CREATE TABLE index_versions (
  tenant_id               text NOT NULL,
  version                 text NOT NULL,
  collection              text NOT NULL,
  -- The embeddings client kind (`local` hashing embedder or `openai`-compatible endpoint) and its settings.
  embeddings              text NOT NULL,
  embeddings_url          text,
  embedding_model         text NOT NULL,
  embedding_model_version text NOT NULL,
  dimensions              integer NOT NULL CHECK (dimensions > 0),
  chunk_tokens            integer NOT NULL CHECK (chunk_tokens > 0),
  chunk_overlap           integer NOT NULL CHECK (chunk_overlap >= 0),
  state                   text NOT NULL CHECK (state IN ('building', 'active', 'retired', 'failed')),
  -- Verification: documents and chunks expected and found, recall on the golden set before/after ({} when none).
  report                  jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at              timestamptz NOT NULL DEFAULT now(),
  activated_at            timestamptz,
  retired_at              timestamptz,
  PRIMARY KEY (tenant_id, version)
);
CREATE UNIQUE INDEX index_versions_one_active ON index_versions (tenant_id) WHERE state = 'active';
