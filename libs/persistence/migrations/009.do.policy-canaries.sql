-- Canary releases of a policy version (issue 11 §4): a version that serves `percent` % of a namespace's jobs (chosen by
-- a stable hash of the job id) next to the stable (active) version, until it is promoted, aborted by an operator, or
-- rolled back automatically by the canary controller. One row per canary, kept after it ends: who started it, when,
-- at what share, and how it ended and why. At most one canary is open per namespace.
CREATE TABLE policy_canaries (
  id             bigserial PRIMARY KEY,
  namespace      text NOT NULL,
  version        integer NOT NULL,
  -- The stable version when the canary started (what it was compared against).
  stable_version integer NOT NULL,
  percent        double precision NOT NULL CHECK (percent > 0 AND percent <= 100),
  started_at     timestamptz NOT NULL DEFAULT now(),
  started_by     text NOT NULL,
  comment        text,
  ended_at       timestamptz,
  ended_by       text,
  outcome        text CHECK (outcome IN ('promoted', 'aborted', 'rolled_back')),
  -- Why it ended: the controller's breach (metric, figures, window) for 'rolled_back', the operator's comment otherwise.
  cause          text,
  CHECK ((ended_at IS NULL) = (outcome IS NULL)),
  FOREIGN KEY (namespace, version) REFERENCES policy_versions (namespace, version),
  FOREIGN KEY (namespace, stable_version) REFERENCES policy_versions (namespace, version)
);
CREATE UNIQUE INDEX policy_canaries_one_open ON policy_canaries (namespace) WHERE ended_at IS NULL;
CREATE INDEX policy_canaries_namespace_id ON policy_canaries (namespace, id DESC);
