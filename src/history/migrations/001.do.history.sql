-- Fireline's incident history (src/history/history-store.ts writes and reads it). Times are
-- timestamptz; `prefix` is the installation (FIRELINE_PREFIX), so one database may hold several.

-- How far the archive has read each Redis stream of an installation ('events', 'unmatched').
CREATE TABLE history_cursor (
  prefix text NOT NULL,
  stream text NOT NULL,
  last_id text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (prefix, stream)
);

-- One row per incident: the record as the API shows it, and the columns stats and search read.
CREATE TABLE incidents (
  id text PRIMARY KEY,
  prefix text NOT NULL,
  runbook_id text NOT NULL,
  runbook_name text NOT NULL,
  service text NOT NULL,
  severity text NOT NULL,
  status text NOT NULL,
  alertname text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- decision.made: every diagnostic in and read
  evidence_at timestamptz,
  acknowledged_at timestamptz,
  resolved_at timestamptz,
  escalated boolean NOT NULL,
  -- events whose actor is a person (not `system`, not an alert source)
  human_actions integer NOT NULL,
  -- resolved with no person acting before the resolution
  resolved_unattended boolean NOT NULL,
  dry_run boolean NOT NULL,
  labels jsonb NOT NULL,
  annotations jsonb NOT NULL,
  record jsonb NOT NULL,
  charts jsonb NOT NULL DEFAULT '{}'::jsonb,
  last_event_id text NOT NULL,
  -- lower-case text the history search matches: runbook, service, alert labels and annotations
  search text NOT NULL
);
CREATE INDEX incidents_by_time ON incidents (prefix, created_at DESC);
CREATE INDEX incidents_by_runbook ON incidents (prefix, runbook_id, created_at);

-- Every timeline event, once: (incident, stream id) is the key, so a re-run inserts nothing.
CREATE TABLE incident_events (
  incident_id text NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  event_id text NOT NULL,
  at timestamptz NOT NULL,
  type text NOT NULL,
  actor text NOT NULL,
  event jsonb NOT NULL,
  PRIMARY KEY (incident_id, event_id)
);

-- Each plan step's outcome and timing (src/engine/history.ts derives them from the record and timeline).
CREATE TABLE incident_steps (
  incident_id text NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  step_id text NOT NULL,
  kind text NOT NULL,
  action_type text,
  state text NOT NULL,
  started_at timestamptz,
  finished_at timestamptz,
  -- null: no verify ran; else whether the last verify found every diagnostic healthy
  verified boolean,
  by_actor text,
  PRIMARY KEY (incident_id, step_id)
);

-- Whether each rule of the decision tree held.
CREATE TABLE incident_rules (
  incident_id text NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  rule_index integer NOT NULL,
  description text NOT NULL,
  matched boolean NOT NULL,
  PRIMARY KEY (incident_id, rule_index)
);

-- Alerts no runbook took: one row per firing (fingerprint and start), with how often it was delivered.
CREATE TABLE unmatched_alerts (
  prefix text NOT NULL,
  fingerprint text NOT NULL,
  starts_at text NOT NULL,
  alertname text NOT NULL,
  source text NOT NULL,
  labels jsonb NOT NULL,
  annotations jsonb NOT NULL,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  deliveries integer NOT NULL,
  PRIMARY KEY (prefix, fingerprint, starts_at)
);
CREATE INDEX unmatched_by_time ON unmatched_alerts (prefix, first_seen);
