-- ingest-validator: async jobs (OpenAI Batch lifecycle states) and their idempotency keys.
CREATE TABLE jobs (
  job_id           uuid PRIMARY KEY,
  tenant_id        text NOT NULL,
  idempotency_key  text,
  state            text NOT NULL,
  stage            text,
  request          jsonb NOT NULL,
  result           jsonb,
  error            jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  in_progress_at   timestamptz,
  finalizing_at    timestamptz,
  completed_at     timestamptz,
  failed_at        timestamptz,
  cancelling_at    timestamptz,
  cancelled_at     timestamptz,
  expired_at       timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  -- occurred_at (epoch ms) of the last status event applied, so an older redelivered event cannot move the state back.
  last_event_at    bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX jobs_tenant_idempotency_key ON jobs (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_tenant_state ON jobs (tenant_id, state);

-- ingest-validator: document dedupe by content hash per tenant.
CREATE TABLE documents (
  tenant_id     text NOT NULL,
  document_id   text NOT NULL,
  content_hash  text NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, document_id)
);

-- Generic fire-once ledger for idempotent effects: (consumer, event_id) is recorded in the same transaction as the effect.
CREATE TABLE processed_events (
  consumer     text NOT NULL,
  event_id     text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
