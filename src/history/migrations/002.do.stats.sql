-- What the effectiveness statistics (src/history/stats.ts) read, kept so that they answer in a few
-- milliseconds per statement over 100,000 incidents instead of joining every step and rule row.
--
-- 1. Durations in seconds, computed by a trigger when a row is written (the archive writes the
--    rows as they are, `SELECT *` of the table's own type, so these columns come in as NULL and are
--    filled here): taking them apart from timestamps at every read costs more than the percentiles.
-- 2. Each step and rule row carries its incident's installation, runbook, service, severity and
--    opening time (filled by a trigger from `incidents`, which the archive writes first), so the
--    statistics filter them without a join, and the day rollups below stay right even when an
--    incident's rows are deleted along with it.
-- 3. Day rollups of the step outcomes and rule results, per installation, day the incident opened
--    (UTC), runbook, service and severity, kept by statement triggers: a range of whole days is a
--    few hundred rollup rows; only the partial days at its ends are read from the rows themselves.
-- 4. Covering indexes in the order the statistics group by, so PostgreSQL reads them without
--    touching the tables and without sorting.

ALTER TABLE incidents
  ADD COLUMN seconds_to_evidence double precision, ADD COLUMN seconds_to_acknowledge double precision,
  ADD COLUMN seconds_to_resolve double precision;
ALTER TABLE incident_steps
  ADD COLUMN prefix text, ADD COLUMN runbook_id text, ADD COLUMN service text,
  ADD COLUMN severity text, ADD COLUMN created_at timestamptz, ADD COLUMN duration_seconds double precision;
ALTER TABLE incident_rules
  ADD COLUMN prefix text, ADD COLUMN runbook_id text, ADD COLUMN service text,
  ADD COLUMN severity text, ADD COLUMN created_at timestamptz;

CREATE FUNCTION history_incident_seconds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.seconds_to_evidence := date_part('epoch', NEW.evidence_at - NEW.created_at);
  NEW.seconds_to_acknowledge := date_part('epoch', NEW.acknowledged_at - NEW.created_at);
  NEW.seconds_to_resolve := date_part('epoch', NEW.resolved_at - NEW.created_at);
  RETURN NEW;
END $$;
CREATE TRIGGER incidents_seconds BEFORE INSERT OR UPDATE ON incidents
  FOR EACH ROW EXECUTE FUNCTION history_incident_seconds();
UPDATE incidents SET seconds_to_evidence = NULL;

UPDATE incident_steps s
SET prefix = i.prefix, runbook_id = i.runbook_id, service = i.service, severity = i.severity,
    created_at = i.created_at, duration_seconds = date_part('epoch', s.finished_at - s.started_at)
FROM incidents i WHERE i.id = s.incident_id;
UPDATE incident_rules r
SET prefix = i.prefix, runbook_id = i.runbook_id, service = i.service, severity = i.severity, created_at = i.created_at
FROM incidents i WHERE i.id = r.incident_id;

CREATE FUNCTION history_copy_incident_columns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT i.prefix, i.runbook_id, i.service, i.severity, i.created_at
  INTO NEW.prefix, NEW.runbook_id, NEW.service, NEW.severity, NEW.created_at
  FROM incidents i WHERE i.id = NEW.incident_id;
  IF TG_TABLE_NAME = 'incident_steps' THEN
    NEW.duration_seconds := date_part('epoch', NEW.finished_at - NEW.started_at);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER incident_steps_incident_columns BEFORE INSERT OR UPDATE ON incident_steps
  FOR EACH ROW EXECUTE FUNCTION history_copy_incident_columns();
CREATE TRIGGER incident_rules_incident_columns BEFORE INSERT OR UPDATE ON incident_rules
  FOR EACH ROW EXECUTE FUNCTION history_copy_incident_columns();

-- Counts may fall to zero (the archive replaces an incident's steps as they change); readers skip those.
CREATE TABLE incident_step_days (
  prefix text NOT NULL,
  day date NOT NULL,
  runbook_id text NOT NULL,
  service text NOT NULL,
  severity text NOT NULL,
  step_id text NOT NULL,
  kind text NOT NULL,
  state text NOT NULL,
  action_type text,
  steps integer NOT NULL,
  verified integer NOT NULL,
  verify_failed integer NOT NULL,
  PRIMARY KEY (prefix, day, runbook_id, service, severity, step_id, kind, state)
);
CREATE TABLE incident_rule_days (
  prefix text NOT NULL,
  day date NOT NULL,
  runbook_id text NOT NULL,
  service text NOT NULL,
  severity text NOT NULL,
  rule_index integer NOT NULL,
  description text NOT NULL,
  evaluated integer NOT NULL,
  held integer NOT NULL,
  PRIMARY KEY (prefix, day, runbook_id, service, severity, rule_index, description)
);

INSERT INTO incident_step_days
SELECT prefix, (created_at AT TIME ZONE 'UTC')::date, runbook_id, service, severity, step_id, kind, state,
       max(action_type), count(*), count(*) FILTER (WHERE verified), count(*) FILTER (WHERE NOT verified)
FROM incident_steps GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
INSERT INTO incident_rule_days
SELECT prefix, (created_at AT TIME ZONE 'UTC')::date, runbook_id, service, severity, rule_index, description,
       count(*), count(*) FILTER (WHERE matched)
FROM incident_rules GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- One function per table for the three events: rows gone are subtracted, rows come are added.
CREATE FUNCTION history_count_step_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO incident_step_days AS d
    SELECT prefix, (created_at AT TIME ZONE 'UTC')::date, runbook_id, service, severity, step_id, kind, state,
           NULL, -count(*), -count(*) FILTER (WHERE verified), -count(*) FILTER (WHERE NOT verified)
    FROM gone GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (prefix, day, runbook_id, service, severity, step_id, kind, state) DO UPDATE SET
      steps = d.steps + EXCLUDED.steps, verified = d.verified + EXCLUDED.verified,
      verify_failed = d.verify_failed + EXCLUDED.verify_failed;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO incident_step_days AS d
    SELECT prefix, (created_at AT TIME ZONE 'UTC')::date, runbook_id, service, severity, step_id, kind, state,
           max(action_type), count(*), count(*) FILTER (WHERE verified), count(*) FILTER (WHERE NOT verified)
    FROM came GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (prefix, day, runbook_id, service, severity, step_id, kind, state) DO UPDATE SET
      steps = d.steps + EXCLUDED.steps, verified = d.verified + EXCLUDED.verified,
      verify_failed = d.verify_failed + EXCLUDED.verify_failed,
      action_type = coalesce(EXCLUDED.action_type, d.action_type);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER incident_steps_days_insert AFTER INSERT ON incident_steps
  REFERENCING NEW TABLE AS came FOR EACH STATEMENT EXECUTE FUNCTION history_count_step_days();
CREATE TRIGGER incident_steps_days_update AFTER UPDATE ON incident_steps
  REFERENCING OLD TABLE AS gone NEW TABLE AS came FOR EACH STATEMENT EXECUTE FUNCTION history_count_step_days();
CREATE TRIGGER incident_steps_days_delete AFTER DELETE ON incident_steps
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION history_count_step_days();

CREATE FUNCTION history_count_rule_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO incident_rule_days AS d
    SELECT prefix, (created_at AT TIME ZONE 'UTC')::date, runbook_id, service, severity, rule_index, description,
           -count(*), -count(*) FILTER (WHERE matched)
    FROM gone GROUP BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (prefix, day, runbook_id, service, severity, rule_index, description) DO UPDATE SET
      evaluated = d.evaluated + EXCLUDED.evaluated, held = d.held + EXCLUDED.held;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO incident_rule_days AS d
    SELECT prefix, (created_at AT TIME ZONE 'UTC')::date, runbook_id, service, severity, rule_index, description,
           count(*), count(*) FILTER (WHERE matched)
    FROM came GROUP BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (prefix, day, runbook_id, service, severity, rule_index, description) DO UPDATE SET
      evaluated = d.evaluated + EXCLUDED.evaluated, held = d.held + EXCLUDED.held;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER incident_rules_days_insert AFTER INSERT ON incident_rules
  REFERENCING NEW TABLE AS came FOR EACH STATEMENT EXECUTE FUNCTION history_count_rule_days();
CREATE TRIGGER incident_rules_days_update AFTER UPDATE ON incident_rules
  REFERENCING OLD TABLE AS gone NEW TABLE AS came FOR EACH STATEMENT EXECUTE FUNCTION history_count_rule_days();
CREATE TRIGGER incident_rules_days_delete AFTER DELETE ON incident_rules
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION history_count_rule_days();

-- The partial days at a range's ends, read from the rows.
CREATE INDEX incident_steps_by_time ON incident_steps (prefix, created_at);
CREATE INDEX incident_rules_by_time ON incident_rules (prefix, created_at);
-- Completed manual steps with their timing, in the order their durations are grouped.
CREATE INDEX incident_steps_manual_done ON incident_steps (prefix, runbook_id, step_id, created_at)
  INCLUDE (duration_seconds, service, severity) WHERE kind = 'manual' AND state = 'done';
-- Per runbook and per runbook and ISO week (Monday, UTC): every column the statistics read, in
-- that order (fixed-width columns first: faster to read from the index tuple).
CREATE INDEX incidents_stats ON incidents (prefix, runbook_id, (date_trunc('week', created_at AT TIME ZONE 'UTC')), created_at)
  INCLUDE (escalated, resolved_unattended, seconds_to_evidence, seconds_to_acknowledge, seconds_to_resolve,
           service, severity, runbook_name);
