import type { NotificationImage } from '../adapters/types.ts';
import {
  type Chart,
  type ChartMarker,
  chartFromMatrix,
  chartMarkers,
  chartWindow,
  missingChart,
  thresholdsFromInterpret,
} from '../engine/chart.ts';
import { chartSummary } from '../engine/chart-svg.ts';
import { CHARTED_TYPES } from '../engine/compile.ts';
import type { DiagnosticStep } from '../engine/runbook-schema.ts';
import type { Alert, Incident, NotificationKind, TimelineEvent } from '../engine/types.ts';
import { AdapterError } from '../errors.ts';
import { type JobData, jobIds } from '../queues/catalog.ts';
import { CHART_LINK_TTL_MS } from '../store/chart-links.ts';
import { findCharts, findTimeline } from './archive.ts';
import type { PipelineDeps } from './deps.ts';

/**
 * The chart of one diagnostic (src/engine/chart.ts): its series from 30 minutes (or the step's
 * `chart.window`) before the alert started to now, with the thresholds of its `interpret` and of
 * its `chart.thresholds`. Runs beside the step's check, never after it; null for a step that draws
 * none (`chart: false`, or a type without series).
 *
 * A range query that fails is a chart that says why (`missing`), never a changed verdict; a
 * cancelled job (`jobSignal`) and a bug still throw.
 */
async function chartOf(
  deps: Pick<PipelineDeps, 'diagnostics' | 'now'>,
  step: DiagnosticStep,
  config: unknown,
  alert: Pick<Alert, 'startsAt'>,
  jobSignal: AbortSignal | undefined,
): Promise<Chart | null> {
  if (!isCharted(step) || step.chart === false) return null;
  const options = step.chart;
  const now = deps.now().getTime();
  const started = Date.parse(alert.startsAt);
  const window = chartWindow({
    alertStartedAt: Number.isNaN(started) ? now : started,
    now,
    ...(options?.window !== undefined ? { windowMs: options.window } : {}),
    ...(options?.step !== undefined ? { stepMs: options.step } : {}),
  });
  const thresholds = [
    ...thresholdsFromInterpret(step.interpret),
    ...(options?.thresholds ?? []).map((t) => ({ ...t, source: 'runbook' as const })),
  ];
  const kind = step.type === 'log_search' ? 'log_count' : 'metric';
  const query = (config as { query?: unknown }).query;
  const base = { kind, query: typeof query === 'string' ? query : '', window, thresholds } as const;
  const timeout = AbortSignal.timeout(step.timeout * 1000);
  const signal = jobSignal ? AbortSignal.any([jobSignal, timeout]) : timeout;
  try {
    const series = await deps.diagnostics.series(step.type, config, window, {
      signal,
      timeoutMs: step.timeout * 1000,
    });
    if (series === null) return null;
    return chartFromMatrix({ ...base, matrix: series });
  } catch (err) {
    if (jobSignal?.aborted) throw err;
    if (timeout.aborted)
      return missingChart({ ...base, reason: `the range query timed out after ${step.timeout}s` });
    if (err instanceof AdapterError) return missingChart({ ...base, reason: err.message });
    throw err;
  }
}

/** Whether a step draws a chart (and so gets a `chart` job beside its check). */
export function isCharted(step: DiagnosticStep): boolean {
  return step.chart !== false && CHARTED_TYPES.has(step.type);
}

/**
 * Adds the `chart` job of a step that draws one (src/queues/catalog.ts), at diagnosis or for the
 * verify after remediation `after`; nothing for a step that draws none.
 */
export async function requestChart(
  deps: Pick<PipelineDeps, 'queues'>,
  data: JobData<'chart'>,
  step: DiagnosticStep,
  after = '',
): Promise<void> {
  if (!isCharted(step)) return;
  await deps.queues.add('chart', data, { jobId: jobIds.chart(data.incidentId, data.stepId, after) });
}

/** A `chart` job's payload for one step of an incident. */
export function chartJob(
  ref: { incidentId: string; runbookId: string },
  stepId: string,
  phase: 'diagnosis' | 'verify',
  config: unknown,
  alertStartsAt: string,
): JobData<'chart'> {
  return { incidentId: ref.incidentId, runbookId: ref.runbookId, stepId, phase, config, alertStartsAt };
}

const PENDING = Symbol('pending');
/** How long a finished check waits for its chart before handing it to a `chart` job. */
const CHART_GRACE_MS = 100;

/**
 * Starts a step's chart beside its check. `finish()`, called once the check is done: a chart that
 * is ready within CHART_GRACE_MS is stored (beside the verdict); one still waiting on its range
 * query is cancelled and handed to a `chart` job, which draws it again on its own. The verdict
 * waits at most CHART_GRACE_MS for a chart, never for a slow range query.
 */
export function besideTheCheck(
  deps: Pick<PipelineDeps, 'catalog' | 'diagnostics' | 'now' | 'store' | 'queues'>,
  step: DiagnosticStep,
  job: JobData<'chart'>,
  jobSignal: AbortSignal | undefined,
): { finish(): Promise<void> } {
  const cancel = new AbortController();
  const signal = jobSignal ? AbortSignal.any([jobSignal, cancel.signal]) : cancel.signal;
  const drawn = chartOf(deps, step, job.config, { startsAt: job.alertStartsAt }, signal).then(
    (chart) => ({ chart }),
    (error: unknown) => ({ error }),
  );
  return {
    async finish() {
      // A range query a little slower than the instant one (most are) is worth a short wait; one
      // that is not done by then is handed to a job rather than hold up the decision.
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<typeof PENDING>((r) => {
        timer = setTimeout(() => r(PENDING), CHART_GRACE_MS);
      });
      const now = await Promise.race([drawn, grace]);
      clearTimeout(timer);
      // Not ready, or drawing failed (a cancelled job, a bug): the chart job tries again on its own,
      // and its failure, if it fails too, is its own; the verdict is never at stake.
      if (now === PENDING || 'error' in now) {
        cancel.abort();
        await requestChart(deps, job, step);
        return;
      }
      // Stored beside the verdict: its `diagnostic.finished` tells readers, no event of its own.
      if (now.chart) await deps.store.setChart(job.incidentId, chartKey(step.id, job.phase), now.chart);
    },
  };
}

/** The `chart` job: draws the step's chart and keeps it with the incident. */
export async function chartStep(
  deps: Pick<PipelineDeps, 'catalog' | 'diagnostics' | 'now' | 'store'>,
  data: JobData<'chart'>,
  signal: AbortSignal | undefined,
): Promise<{ stored: string | null }> {
  const step = deps.catalog.get(data.runbookId)?.runbook.diagnostics.find((d) => d.id === data.stepId);
  if (!step) return { stored: null }; // the runbook changed since: nothing to draw
  const chart = await chartOf(deps, step, data.config, { startsAt: data.alertStartsAt }, signal);
  if (!chart) return { stored: null };
  return { stored: await storeChart(deps, step, data, chart) };
}

/** Keeps a step's chart with the incident, with its `diagnostic.charted` event; its key. */
async function storeChart(
  deps: Pick<PipelineDeps, 'store'>,
  step: DiagnosticStep,
  data: JobData<'chart'>,
  chart: Chart,
): Promise<string> {
  const key = chartKey(step.id, data.phase);
  const drawn = chart.missing ? `no chart: ${chart.missing}` : `chart of ${chart.series.length} series`;
  await deps.store.setChart(data.incidentId, key, chart, {
    type: 'diagnostic.charted',
    actor: 'system',
    message: `${step.name}: ${drawn}${data.phase === 'verify' ? ' (verify)' : ''}`,
    data: { stepId: step.id, phase: data.phase, key, ...(chart.missing ? { missing: chart.missing } : {}) },
  });
  return key;
}

/** The key of a step's chart: its id at diagnosis, `verify:<id>` for its latest verify. */
export function chartKey(stepId: string, phase: 'diagnosis' | 'verify'): string {
  return phase === 'verify' ? `verify:${stepId}` : stepId;
}

/** A chart as the API serves it: with its step's title, its markers and where its image is. */
export interface ChartView {
  /** The stored key: the step id, or `verify:<stepId>`. */
  key: string;
  stepId: string;
  phase: 'diagnosis' | 'verify';
  /** The step's name (its id when the runbook no longer has it). */
  title: string;
  /** One line for alt text and Slack. */
  summary: string;
  chart: Chart;
  markers: ChartMarker[];
}

/**
 * The incident's charts in the runbook's diagnostic order, each verify chart after its step's,
 * with the incident's moments (alert start, opening, remediations, verifies) as markers.
 */
export async function chartViews(
  deps: Pick<PipelineDeps, 'store' | 'catalog' | 'history'>,
  incident: Pick<Incident, 'id' | 'runbookId' | 'alert' | 'createdAt'>,
  timeline?: readonly TimelineEvent[],
): Promise<ChartView[]> {
  // The caller's timeline when it has read it already (the report), else read beside the charts.
  const [charts, events] = await Promise.all([
    findCharts(deps, incident.id),
    timeline ?? findTimeline(deps, incident.id),
  ]);
  const keys = Object.keys(charts);
  if (keys.length === 0) return [];
  const markers = chartMarkers({
    alertStartedAt: incident.alert.startsAt,
    incidentCreatedAt: incident.createdAt,
    events,
  });
  const steps = deps.catalog.get(incident.runbookId)?.runbook.diagnostics ?? [];
  const order = (stepId: string) => {
    const at = steps.findIndex((s) => s.id === stepId);
    return at === -1 ? steps.length : at;
  };
  return keys
    .map((key): ChartView => {
      const phase = key.startsWith('verify:') ? 'verify' : 'diagnosis';
      const stepId = phase === 'verify' ? key.slice('verify:'.length) : key;
      const chart = charts[key]!;
      const title = steps.find((s) => s.id === stepId)?.name ?? stepId;
      return { key, stepId, phase, title, summary: chartSummary(chart, title), chart, markers };
    })
    .sort(
      (a, b) =>
        order(a.stepId) - order(b.stepId) ||
        a.stepId.localeCompare(b.stepId) ||
        (a.phase === b.phase ? 0 : a.phase === 'diagnosis' ? -1 : 1),
    );
}

/** Whether a public URL is this machine only (no use giving Slack a link to it). */
function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Notifications that show the charts of the critical metrics (after the decision, when paging). */
const WITH_IMAGES: ReadonlySet<NotificationKind> = new Set(['update', 'escalation']);
/** Images per message: more would push the plan and the buttons down. */
const MAX_IMAGES = 3;

/**
 * The chart images a notification of `kind` shows: the diagnosis charts (with data) of the steps
 * judged critical, as signed public links — none when the public URL is a loopback address (the
 * receiver could not fetch them) or the kind shows none.
 */
export async function notificationImages(
  deps: Pick<PipelineDeps, 'store' | 'catalog' | 'chartLinks' | 'publicUrl' | 'now'>,
  incident: Incident,
  kind: NotificationKind,
): Promise<NotificationImage[]> {
  const publicUrl = deps.publicUrl;
  if (!publicUrl || isLoopbackUrl(publicUrl) || !WITH_IMAGES.has(kind)) return [];
  const critical = new Set(
    Object.values(incident.verdicts)
      .filter((v) => v.status === 'critical')
      .map((v) => v.stepId),
  );
  if (critical.size === 0) return [];
  await chartsOf(deps, incident, critical);
  const views = (await chartViews(deps, incident))
    .filter((v) => v.phase === 'diagnosis' && critical.has(v.stepId) && v.chart.series.length > 0)
    .slice(0, MAX_IMAGES);
  const expiresAt = deps.now().getTime() + CHART_LINK_TTL_MS;
  const base = publicUrl.replace(/\/+$/, '');
  return Promise.all(
    views.map(async (v) => ({
      url: `${base}${await deps.chartLinks.sign(incident.id, v.key, expiresAt)}`,
      alt: v.summary,
      title: v.title,
    })),
  );
}

/** How long a notification waits for the charts of its critical steps (their jobs run beside). */
const CHART_WAIT_MS = 3_000;
const CHART_POLL_MS = 100;

/**
 * Waits (at most CHART_WAIT_MS) until every charted step among `stepIds` has its diagnosis chart:
 * the `chart` jobs run beside the checks, and the update after the decision may be sent first. A
 * chart still missing after that is left out of the message, which goes without it.
 */
async function chartsOf(
  deps: Pick<PipelineDeps, 'store' | 'catalog'>,
  incident: Pick<Incident, 'id' | 'runbookId'>,
  stepIds: ReadonlySet<string>,
): Promise<void> {
  const steps = deps.catalog.get(incident.runbookId)?.runbook.diagnostics ?? [];
  const wanted = steps.filter((s) => stepIds.has(s.id) && isCharted(s)).map((s) => s.id);
  const until = Date.now() + CHART_WAIT_MS;
  for (;;) {
    const stored = await deps.store.charts(incident.id);
    if (wanted.every((id) => stored[id]) || Date.now() >= until) return;
    await new Promise((r) => setTimeout(r, CHART_POLL_MS));
  }
}
