-- Redrives of dead letters (issue 12 §4): one row per DLQ record a redrive claimed, keyed by where it sits in its DLQ,
-- so an interrupted redrive resumes and a redrive run twice republishes nothing twice. A claim whose republish was
-- not acknowledged (published_at NULL) is taken over by a later run once stale. One row per run, manual
-- (`llmgov dlq redrive`) or automatic (dependency dead letters after the dependency was healthy long enough).
CREATE TABLE dead_letter_redrive_runs (
  redrive_id   uuid PRIMARY KEY,
  mode         text NOT NULL CHECK (mode IN ('manual', 'automatic')),
  actor        text NOT NULL,
  cause        text NOT NULL,
  -- The filter as given: {"namespace": topic prefix, "topics": [...] | null, "since"/"before": epoch ms | null, "service": name | null}.
  filter       jsonb NOT NULL,
  -- Why it ran (automatic: dependencies healthy since when).
  reason       text NOT NULL DEFAULT '',
  planned      integer NOT NULL CHECK (planned >= 0),
  published    integer NOT NULL DEFAULT 0,
  skipped      integer NOT NULL DEFAULT 0,
  failed       integer NOT NULL DEFAULT 0,
  error        text,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
CREATE INDEX dead_letter_redrive_runs_started ON dead_letter_redrive_runs (started_at DESC);

CREATE TABLE dead_letter_redrives (
  dlq_topic           text NOT NULL,
  dlq_partition       integer NOT NULL CHECK (dlq_partition >= 0),
  dlq_offset          bigint NOT NULL CHECK (dlq_offset >= 0),
  redrive_id          uuid NOT NULL REFERENCES dead_letter_redrive_runs (redrive_id),
  source_topic        text NOT NULL,
  cause               text NOT NULL,
  error_code          text NOT NULL,
  -- The original event id (the value's event_id, when it decodes): the consumers' idempotency key.
  event_id            text,
  claimed_at          timestamptz NOT NULL DEFAULT now(),
  published_at        timestamptz,
  published_partition integer,
  published_offset    bigint,
  PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);
CREATE INDEX dead_letter_redrives_run ON dead_letter_redrives (redrive_id);
