-- Golden sets and eval runs (issue 11, "Golden sets and regression gates"). A golden set is a named list of prompts with
-- their expected answers; it grows (from a file or from curated feedback labels) and each growth bumps its version, so
-- that an eval run records exactly which items it was scored on and a gate compares runs of the same version only.
CREATE TABLE golden_sets (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  version     integer NOT NULL DEFAULT 1 CHECK (version > 0),
  -- Where the items came from: one entry per growth {kind: squad|jsonl|labels, file, sha256, items, at, by, ...}.
  provenance  jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE golden_items (
  id                bigserial PRIMARY KEY,
  golden_set_id     bigint NOT NULL REFERENCES golden_sets (id) ON DELETE CASCADE,
  -- Stable identity inside the set (a SQuAD question id, a JSONL line's id or content hash, a label's feedback event id):
  -- adding the same item twice is a no-op.
  item_key          text NOT NULL,
  prompt            text NOT NULL,
  expected_answers  text[] NOT NULL CHECK (cardinality(expected_answers) > 0),
  intent            text,
  tenant_id         text,
  route             text,
  -- Where it came from: the SQuAD question id / source document (paragraph) id, or the job id of a curated label.
  source            text NOT NULL CHECK (source IN ('squad', 'jsonl', 'labels')),
  source_id         text,
  source_document_id text,
  -- The golden set version in which it was added.
  added_in_version  integer NOT NULL,
  added_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (golden_set_id, item_key)
);

-- One evaluation of a golden set version under a policy version of a namespace (null: the active version at the time,
-- recorded in resolved form when the jobs report it). `summary` holds the overall and per-intent figures.
CREATE TABLE eval_runs (
  id                   bigserial PRIMARY KEY,
  golden_set_id        bigint NOT NULL REFERENCES golden_sets (id) ON DELETE CASCADE,
  golden_version       integer NOT NULL,
  policy_namespace     text NOT NULL,
  policy_version       integer,
  pinned               boolean NOT NULL,
  items                integer NOT NULL,
  summary              jsonb NOT NULL,
  started_at           timestamptz NOT NULL,
  finished_at          timestamptz NOT NULL DEFAULT now(),
  created_by           text NOT NULL
);
CREATE INDEX eval_runs_lookup ON eval_runs (golden_set_id, policy_namespace, policy_version, id DESC);

-- The per-item outcome of a run, for drill-down (which questions regressed).
CREATE TABLE eval_results (
  run_id        bigint NOT NULL REFERENCES eval_runs (id) ON DELETE CASCADE,
  item_id       bigint NOT NULL REFERENCES golden_items (id) ON DELETE CASCADE,
  job_id        text,
  status        text NOT NULL,
  answer        text,
  exact_match   double precision,
  f1            double precision,
  verdict       text,
  tier          text,
  cost_usd      double precision,
  latency_ms    double precision,
  PRIMARY KEY (run_id, item_id)
);
