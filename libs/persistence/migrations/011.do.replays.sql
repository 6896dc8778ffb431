-- Replays of a topic (`llmgov replay`, issue 12 §1): one row per replay with what it was asked to do, its resolved
-- offset ranges, and its checkpoint, so `--resume <replay_id>` continues an interrupted replay where it stopped.
-- The exact resume point is also committed in Kafka by the replay's consumer group (`llmgov-replay-<replay_id>`), in
-- the same transaction as the records it republished; `positions` is written just after each such transaction, so it
-- can lag the group by one chunk, never lead it (the resume takes the later of the two per partition).
CREATE TABLE replays (
  replay_id     text PRIMARY KEY CHECK (replay_id ~ '^rp-[a-z0-9-]{1,60}$'),
  topic         text NOT NULL,
  -- The command as given: {from, to, tenant, route, rate_per_s, target}.
  request       jsonb NOT NULL,
  -- Per partition {partition, start, end} offsets (int64 as decimal strings), fixed when the replay starts: records
  -- written later (its own republished records included) are never read.
  ranges        jsonb NOT NULL,
  target        text NOT NULL,
  -- The next offset to read per partition ({"0": "120", ...}).
  positions     jsonb NOT NULL DEFAULT '{}'::jsonb,
  state         text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'interrupted', 'completed', 'failed')),
  scanned       bigint NOT NULL DEFAULT 0,
  matched       bigint NOT NULL DEFAULT 0,
  republished   bigint NOT NULL DEFAULT 0,
  undecodable   bigint NOT NULL DEFAULT 0,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz
);
CREATE INDEX replays_topic_created ON replays (topic, created_at DESC);
