-- Policy versions (issue 10, "policies are versioned data, not code"): every applied policy document, immutable,
-- numbered 1, 2, ... per namespace ('default' for the platform; tests and benchmarks use their own), identified by the
-- SHA-256 of its RFC 8785 canonical JSON so that applying the same document twice is a no-op.
CREATE TABLE policy_versions (
  namespace   text NOT NULL,
  version     integer NOT NULL CHECK (version > 0),
  document    jsonb NOT NULL,
  sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text NOT NULL,
  comment     text,
  PRIMARY KEY (namespace, version),
  UNIQUE (namespace, sha256)
);

-- The prompt template registry: the content of each template file by name@version. Immutable: a name@version is
-- registered once, and registering it again with other content is refused (publish name@version+1 instead).
CREATE TABLE prompt_templates (
  name        text NOT NULL,
  version     integer NOT NULL CHECK (version > 0),
  content     jsonb NOT NULL,
  sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, version)
);

-- The templates each policy version references: activating or rolling back to a version brings its templates with it.
CREATE TABLE policy_version_templates (
  namespace        text NOT NULL,
  policy_version   integer NOT NULL,
  template_name    text NOT NULL,
  template_version integer NOT NULL,
  PRIMARY KEY (namespace, policy_version, template_name, template_version),
  FOREIGN KEY (namespace, policy_version) REFERENCES policy_versions (namespace, version),
  FOREIGN KEY (template_name, template_version) REFERENCES prompt_templates (name, version)
);

-- Activation history, append-only: the newest row of a namespace is its active version. `previous_id` is the row that
-- was in effect before this one took over (for a rollback: before the row it restored), so a rollback undoes the
-- newest activation still in effect, and rollbacks in a row walk back through the activations.
CREATE TABLE policy_activations (
  id           bigserial PRIMARY KEY,
  namespace    text NOT NULL,
  version      integer NOT NULL,
  action       text NOT NULL CHECK (action IN ('activate', 'rollback')),
  previous_id  bigint REFERENCES policy_activations (id),
  activated_at timestamptz NOT NULL DEFAULT now(),
  activated_by text NOT NULL,
  comment      text,
  FOREIGN KEY (namespace, version) REFERENCES policy_versions (namespace, version)
);
CREATE INDEX policy_activations_namespace_id ON policy_activations (namespace, id DESC);
