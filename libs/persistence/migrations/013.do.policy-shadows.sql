-- Shadow runs of a policy version (issue 11 §4, ADR 0009). A shadow is an experiment of the same kind as a canary and
-- shares its table, history and "one open experiment per namespace" index: `mode` says which. A shadow's version decides
-- a copy of `percent` % of the jobs (by the same job-id hash) whose outcome never reaches the user.
ALTER TABLE policy_canaries ADD COLUMN mode text NOT NULL DEFAULT 'canary' CHECK (mode IN ('canary', 'shadow'));

-- The paired samples of a shadow: for each user job under the shadow's share, the stable answer and the shadow copy's
-- answer, each with its verdict and quality (judge), end-to-end latency (completion) and cost (cost record). Written by
-- the feedback-labeler, read by `llmgov policy shadow-report`. One row per experiment, user job and variant; the
-- columns are filled by whichever event arrives (upserts), so the order of judged, completed and cost records is free.
CREATE TABLE policy_shadow_samples (
  experiment_id  bigint NOT NULL REFERENCES policy_canaries (id),
  -- The user's job id (the shadow copy runs as shadow:<job id>).
  job_id         text NOT NULL,
  variant        text NOT NULL CHECK (variant IN ('stable', 'shadow')),
  policy_version integer NOT NULL,
  verdict        text,
  -- The judge's combined quality (0..1); the groundedness when the judge wrote none.
  quality        double precision,
  groundedness   double precision,
  -- SHA-256 (hex) of the released answer text: two variants' answers differ when their hashes do.
  answer_sha256  text,
  judged_at      timestamptz,
  -- End to end, from validation to completion, milliseconds.
  latency_ms     double precision,
  -- Cost of the completion, US dollars (the last attempt billed).
  cost_usd       double precision,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, job_id, variant)
);
