-- Budget reservations (ADR 0007): the ledger is the truth the Redis budget counters are reconciled against.
-- route: the policy route (named use case) the call was reserved under, '' when none; part of the roll-up key so
-- route budgets can be reconciled from the roll-ups.
ALTER TABLE cost_ledger ADD COLUMN route text NOT NULL DEFAULT '';
-- cost_micro_usd: the event's cost rounded to whole micro-USD once, here, by Postgres. The budget counters add exactly
-- this value per event, so their sum equals the roll-ups' sum (rounding the sum instead would drift by up to 0.5
-- micro-USD per event).
ALTER TABLE cost_ledger ADD COLUMN cost_micro_usd bigint GENERATED ALWAYS AS (round(cost_usd * 1000000)::bigint) STORED;

ALTER TABLE cost_rollups ADD COLUMN route text NOT NULL DEFAULT '';
ALTER TABLE cost_rollups ADD COLUMN cost_micro_usd bigint NOT NULL DEFAULT 0;
UPDATE cost_rollups r SET cost_micro_usd = s.micro
FROM (
  SELECT tenant_id, day, team, feature, model, tier, sum(cost_micro_usd)::bigint AS micro
  FROM cost_ledger GROUP BY tenant_id, day, team, feature, model, tier
) s
WHERE r.tenant_id = s.tenant_id AND r.day = s.day AND r.team = s.team AND r.feature = s.feature AND r.model = s.model AND r.tier = s.tier;
ALTER TABLE cost_rollups DROP CONSTRAINT cost_rollups_pkey;
ALTER TABLE cost_rollups ADD PRIMARY KEY (tenant_id, day, team, feature, model, tier, route);
-- The reconciler lists the tenants that spent in recent days.
CREATE INDEX cost_rollups_day ON cost_rollups (day);
