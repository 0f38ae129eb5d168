import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { MetricThresholdTriggerSchema } from '../engine/runbook-schema.ts';
import { fingerprintFromLabels, incidentKey } from '../engine/triggers.ts';
import type { Alert } from '../engine/types.ts';
import { AdapterError } from '../errors.ts';
import { JOBS } from '../queues/catalog.ts';
import type { PipelineDeps } from './deps.ts';
import { createIntake } from './intake.ts';
import { createRepeatedFailures, type RepeatedFailures } from './repeated-failures.ts';

/**
 * `metric_threshold` triggers: Fireline watches a PromQL query itself. One BullMQ job scheduler
 * per trigger adds a `threshold` job to the `triggers` queue every `intervalSeconds`; each poll
 * runs the query through the registered `prometheus_query` executor (so the same connection, auth
 * and error handling as a diagnostic) and compares every sample with the threshold.
 *
 * Each series of the result is its own alert: labels `{…series labels, alertname:
 * "<runbookId>-threshold"}` (ours wins over a series' own `alertname`), fingerprint from those
 * labels as Alertmanager computes it, so dedup and `groupBy` behave as for Alertmanager alerts.
 * A series that crosses goes through the alert intake (opens an incident, or attaches to the open
 * one). While it stays across and its incident is open, later polls send nothing (no `re-fired`
 * event every interval); when its incident was resolved by hand while it still crosses, the next
 * poll opens a new one, as a re-sent Alertmanager alert would. A series that recovers (back on the
 * right side, or gone from the result) is sent as `resolved`, which resolves the incident when the
 * runbook has `autoResolve`. NaN never crosses. A failed query changes nothing (a series is not
 * "recovered" because Prometheus was down): the job succeeds, and the failure is logged once and
 * then counted (repeated-failures.ts), not once a poll for every runbook.
 */

type ThresholdTrigger = z.infer<typeof MetricThresholdTriggerSchema>;

const SCHEDULER_PREFIX = 'threshold-';
/** A poll gives up after the interval (at least 1 s, at most 30 s). */
const MAX_POLL_MS = 30_000;

/** Each pipeline's log of failing polls (one per deps, so that pipelines in one process stay apart). */
const pollFailures = new WeakMap<PipelineDeps, RepeatedFailures>();

function pollFailuresOf(deps: PipelineDeps): RepeatedFailures {
  let failures = pollFailures.get(deps);
  if (!failures) {
    failures = createRepeatedFailures({ logger: deps.logger, what: 'metric_threshold poll', now: deps.now });
    pollFailures.set(deps, failures);
  }
  return failures;
}

/** The job scheduler id of a runbook's trigger (runbook ids hold no ':'). */
export function thresholdSchedulerId(runbookId: string, triggerIndex: number): string {
  return `${SCHEDULER_PREFIX}${runbookId}-${triggerIndex}`;
}

/** Whether `value` is across `threshold` in the trigger's direction (NaN never is). */
export function crosses(
  value: number,
  comparison: ThresholdTrigger['comparison'],
  threshold: number,
): boolean {
  switch (comparison) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

/**
 * Upserts one job scheduler per `metric_threshold` trigger of the catalog's runbooks and removes
 * the schedulers (and their state) of triggers that no longer exist. Called at worker start; call
 * it again after a catalog reload so that new and changed triggers follow.
 */
export async function upsertThresholdSchedulers(
  deps: Pick<PipelineDeps, 'catalog' | 'queues' | 'thresholds'>,
): Promise<string[]> {
  const queue = deps.queues.byName.triggers;
  const wanted = new Set<string>();
  for (const { runbook } of deps.catalog.all()) {
    for (const [triggerIndex, trigger] of runbook.triggers.entries()) {
      if (trigger.type !== 'metric_threshold') continue;
      const id = thresholdSchedulerId(runbook.id, triggerIndex);
      wanted.add(id);
      await queue.upsertJobScheduler(
        id,
        { every: Math.round(trigger.intervalSeconds * 1000) },
        {
          name: 'threshold',
          data: { runbookId: runbook.id, triggerIndex },
          opts: JOBS.threshold.policy,
        },
      );
    }
  }
  const existing = await queue.getJobSchedulers(0, -1);
  for (const scheduler of existing) {
    if (!scheduler.key.startsWith(SCHEDULER_PREFIX) || wanted.has(scheduler.key)) continue;
    await queue.removeJobScheduler(scheduler.key);
    await deps.thresholds.drop(scheduler.key);
  }
  return [...wanted];
}

const SamplesSchema = z.array(z.object({ labels: z.record(z.string(), z.string()), value: z.number() }));

/** What one poll did, as the job's return value. */
export type ThresholdPollResult =
  | { skipped: string }
  | { error: string }
  | { crossing: number; opened: number; attached: number; resolved: number };

/** Runs one poll of a `threshold` job. */
export async function pollThreshold(
  deps: PipelineDeps,
  runbookId: string,
  triggerIndex: number,
): Promise<ThresholdPollResult> {
  const schedulerId = thresholdSchedulerId(runbookId, triggerIndex);
  const runbook = deps.catalog.get(runbookId)?.runbook;
  const trigger = runbook?.triggers[triggerIndex];
  if (!runbook || trigger?.type !== 'metric_threshold') {
    // The runbook was removed or changed by a reload: this scheduler has nothing left to watch.
    await deps.queues.byName.triggers.removeJobScheduler(schedulerId);
    await deps.thresholds.drop(schedulerId);
    return { skipped: 'trigger no longer exists' };
  }
  const timeoutMs = Math.min(MAX_POLL_MS, Math.max(1000, trigger.intervalSeconds * 1000));
  const token = randomUUID();
  // Polls of one trigger never overlap: a slow one makes the next skip, not double-send.
  if (!(await deps.thresholds.lock(schedulerId, token, timeoutMs + 5000)))
    return { skipped: 'previous poll still running' };
  try {
    let samples: z.infer<typeof SamplesSchema>;
    try {
      const facts = await deps.diagnostics.run(
        'prometheus_query',
        { query: trigger.metricQuery },
        { signal: AbortSignal.timeout(timeoutMs) },
      );
      samples = SamplesSchema.parse(facts.values);
    } catch (err) {
      if (!(err instanceof AdapterError)) throw err;
      pollFailuresOf(deps).failed(schedulerId, err, { runbookId, trigger: triggerIndex });
      return { error: err.message };
    }
    pollFailuresOf(deps).worked(schedulerId);
    return await applyPoll(deps, runbook.id, trigger, schedulerId, samples);
  } finally {
    await deps.thresholds.unlock(schedulerId, token);
  }
}

async function applyPoll(
  deps: PipelineDeps,
  runbookId: string,
  trigger: ThresholdTrigger,
  schedulerId: string,
  samples: z.infer<typeof SamplesSchema>,
): Promise<ThresholdPollResult> {
  const runbook = deps.catalog.require(runbookId).runbook;
  const intake = createIntake(deps);
  const known = await deps.thresholds.seen(schedulerId);
  const now = deps.now().toISOString();
  const alertOf = (labels: Record<string, string>, status: Alert['status'], value?: number): Alert => ({
    source: 'metric_threshold',
    status,
    labels,
    annotations:
      value === undefined
        ? {}
        : {
            summary: `${trigger.metricQuery} ${trigger.comparison} ${trigger.threshold}: value ${value}`,
            value: String(value),
            threshold: String(trigger.threshold),
          },
    fingerprint: fingerprintFromLabels(labels),
    startsAt: now,
    ...(status === 'resolved' ? { endsAt: now } : {}),
  });
  const result = { crossing: 0, opened: 0, attached: 0, resolved: 0 };
  const crossingNow = new Set<string>();
  for (const sample of samples) {
    if (!crosses(sample.value, trigger.comparison, trigger.threshold)) continue;
    result.crossing++;
    const labels = { ...sample.labels, alertname: `${runbookId}-threshold` };
    const alert = alertOf(labels, 'firing', sample.value);
    crossingNow.add(alert.fingerprint);
    if (
      known[alert.fingerprint] !== undefined &&
      (await deps.store.findOpenByKey(incidentKey(runbook, alert)))
    )
      continue;
    const [outcome] = await intake(alert, { runbookId });
    if (outcome?.outcome === 'opened') result.opened++;
    else if (outcome?.outcome === 'attached') result.attached++;
    await deps.thresholds.markSeen(schedulerId, alert.fingerprint, JSON.stringify(labels));
  }
  for (const [fingerprint, labelsJson] of Object.entries(known)) {
    if (crossingNow.has(fingerprint)) continue;
    const labels = z.record(z.string(), z.string()).parse(JSON.parse(labelsJson));
    await intake(alertOf(labels, 'resolved'), { runbookId });
    await deps.thresholds.forget(schedulerId, fingerprint);
    result.resolved++;
  }
  return result;
}
