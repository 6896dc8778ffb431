import type { DocumentSubmitted } from '@llmgov/contracts';

/** A submitted document of tenant-a (`doc-1`, English, from source `spec`) about Notre Dame; `over` replaces fields. */
export const submittedDocument = (over: Partial<DocumentSubmitted> = {}): DocumentSubmitted => ({
  event_id: '0b6d7c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e',
  tenant_id: 'tenant-a',
  occurred_at: 0,
  schema_version: 1,
  correlation_id: 'doc-1',
  document_id: 'doc-1',
  source: 'spec',
  title: 'Notre Dame',
  text: 'Architecturally, the school has a Catholic character.',
  language: 'en',
  metadata: {},
  ...over,
});
