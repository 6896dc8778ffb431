-- feedback-labeler: judged results (the join side) and curated labels.
CREATE TABLE judged_results (
  job_id       text PRIMARY KEY,
  tenant_id    text NOT NULL,
  verdict      text NOT NULL,
  groundedness double precision NOT NULL,
  final_text   text NOT NULL,
  model        text NOT NULL,
  tier         text NOT NULL,
  judged_at    timestamptz NOT NULL DEFAULT now()
);

-- Feedback waiting for its judged result, joined when the result arrives.
CREATE TABLE pending_feedback (
  feedback_event_id text PRIMARY KEY,
  job_id            text NOT NULL,
  tenant_id         text NOT NULL,
  kind              text NOT NULL,
  correction        text,
  received_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_feedback_job ON pending_feedback (job_id);

CREATE TABLE labels (
  feedback_event_id  text PRIMARY KEY,
  job_id             text NOT NULL,
  tenant_id          text NOT NULL,
  label              text NOT NULL,
  source             text NOT NULL,
  judge_verdict      text,
  agrees_with_judge  boolean,
  correction         text,
  created_at         timestamptz NOT NULL DEFAULT now()
);
