-- cost-attributor: one ledger row per usage event (exactly-once accounting by usage_event_id).
CREATE TABLE cost_ledger (
  usage_event_id        text PRIMARY KEY,
  tenant_id             text NOT NULL,
  job_id                text,
  team                  text NOT NULL,
  feature               text NOT NULL,
  kind                  text NOT NULL,
  model                 text NOT NULL,
  tier                  text NOT NULL,
  day                   date NOT NULL,
  prompt_tokens         integer NOT NULL,
  completion_tokens     integer NOT NULL,
  gpu_seconds           double precision NOT NULL,
  cost_usd              numeric(20, 10) NOT NULL,
  price_catalog_version text NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cost_ledger_tenant_day ON cost_ledger (tenant_id, day);

-- Roll-up per tenant / team / feature / model / tier / day, updated in the ledger insert's transaction.
CREATE TABLE cost_rollups (
  tenant_id  text NOT NULL,
  day        date NOT NULL,
  team       text NOT NULL,
  feature    text NOT NULL,
  model      text NOT NULL,
  tier       text NOT NULL,
  requests   integer NOT NULL,
  prompt_tokens     bigint NOT NULL,
  completion_tokens bigint NOT NULL,
  cost_usd   numeric(20, 10) NOT NULL,
  PRIMARY KEY (tenant_id, day, team, feature, model, tier)
);
