-- ingest-validator: SHA-256 (hex) of the canonical POST /v1/jobs request that created the job, so that an
-- idempotency key reused with a different body is refused (422) instead of answering with the first job.
-- NULL for jobs created before this migration and for jobs created from the raw topic (no HTTP body).
ALTER TABLE jobs ADD COLUMN request_fingerprint text;
