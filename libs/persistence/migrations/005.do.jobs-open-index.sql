-- ingest-validator: the expiry sweeper scans non-final jobs by age; this partial index keeps that scan to open jobs.
CREATE INDEX IF NOT EXISTS jobs_open_created_at ON jobs (created_at) WHERE state IN ('validating', 'in_progress', 'finalizing', 'cancelling');
