import { historyFacts } from '../../src/engine/history.ts';
import type {
  Alert,
  EventType,
  Incident,
  IncidentStatus,
  PlanStep,
  TimelineEvent,
} from '../../src/engine/types.ts';
import type { HistoryDb } from '../../src/history/db.ts';
import type { ArchiveItem, HistoryStore, UnmatchedItem } from '../../src/history/history-store.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import type { AuthConfig } from '../../src/producer/auth.ts';
import { historyRoutes } from '../../src/producer/routes/history.ts';
import { startApi } from './api-server.ts';
import type { HistoryBackend } from './history.ts';
import { testPipeline } from './pipeline.ts';

/**
 * Archived incidents with known timings, built the way the archive builds them: an Incident record
 * and its timeline, the history facts derived by `historyFacts` (src/engine/history.ts), written by
 * `HistoryStore.write`. Times are seconds after the incident opened.
 */

export interface IncidentSpec {
  id: string;
  runbookId: string;
  runbookName?: string;
  service: string;
  severity?: Incident['severity'];
  /** ISO time the incident opened. */
  createdAt: string;
  status?: IncidentStatus;
  escalated?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Timeline after `incident.opened`: `[seconds, type, actor?, data?]`. */
  events?: [number, EventType, string?, Record<string, unknown>?][];
  plan?: Pick<PlanStep, 'stepId' | 'kind' | 'state' | 'actionType'>[];
  /** Decision rules: `[description, held]`, in rule order. */
  rules?: [string, boolean][];
}

const at = (createdAt: string, seconds: number) =>
  new Date(Date.parse(createdAt) + seconds * 1000).toISOString();

/** The incident, its timeline and facts, ready for `HistoryStore.write`. */
export function archiveItem(spec: IncidentSpec): ArchiveItem {
  const created = Date.parse(spec.createdAt);
  const timeline: TimelineEvent[] = [
    [0, 'incident.opened', 'alert:alertmanager'] as const,
    ...(spec.events ?? []),
  ]
    .map(([seconds, type, actor, data], n) => ({
      id: `${created + seconds * 1000}-${n}`,
      incidentId: spec.id,
      type,
      at: at(spec.createdAt, seconds),
      actor: actor ?? 'system',
      message: type,
      ...(data ? { data } : {}),
    }))
    .sort((a, b) => a.at.localeCompare(b.at));
  const resolved = timeline.find((e) => e.type === 'incident.resolved');
  const status = spec.status ?? (resolved ? 'resolved' : 'awaiting_responder');
  const labels = { alertname: 'TestAlert', ...spec.labels };
  const alert: Alert = {
    source: 'alertmanager',
    status: 'firing',
    labels,
    annotations: spec.annotations ?? {},
    fingerprint: `fp-${spec.id}`,
    startsAt: spec.createdAt,
  };
  const rules = spec.rules ?? [];
  const incident: Incident = {
    id: spec.id,
    key: `${spec.runbookId}:${alert.fingerprint}`,
    runbookId: spec.runbookId,
    runbookName: spec.runbookName ?? spec.runbookId,
    service: spec.service,
    severity: spec.severity ?? 'P1',
    status,
    acknowledged: timeline.some((e) => e.type === 'incident.acknowledged'),
    escalated: spec.escalated ?? false,
    dryRun: false,
    createdAt: spec.createdAt,
    updatedAt: timeline.at(-1)?.at ?? spec.createdAt,
    ...(status === 'resolved' && resolved ? { resolvedAt: resolved.at } : {}),
    alert,
    verdicts: {},
    ...(rules.length
      ? {
          decision: {
            remediations: [],
            rationale: rules.map(([description, matched], index) => ({
              index,
              description,
              condition: 'true',
              matched,
              values: {},
              then: [],
            })),
            otherwiseApplied: false,
          },
        }
      : {}),
    plan: (spec.plan ?? []).map((s) => ({ ...s, name: s.stepId })),
  };
  return {
    incident,
    facts: historyFacts(incident, timeline),
    events: timeline,
    charts: {},
    lastEventId: timeline.at(-1)?.id ?? '0-0',
  };
}

/** One delivery of an alert no runbook took, at `at`. */
export function unmatchedDelivery(
  n: number,
  at: string,
  labels: Record<string, string>,
  firing: { fingerprint: string; startsAt: string },
): UnmatchedItem {
  return {
    id: `${Date.parse(at)}-${n}`,
    at,
    alert: { source: 'alertmanager', status: 'firing', labels, annotations: {}, ...firing },
  };
}

/** A runbook with nothing to run: the statistics read the history, not what the runbook does. */
export const statsRunbook = (id: string, service: string, severity = 'P1') => `
id: ${id}
name: ${id} runbook
severity: ${severity}
service: ${service}
triggers: [{ type: alert, alertName: ${id}-alert }]
diagnostics: []
decisionTree: []
remediations: []
escalation: { primary: '#${service}' }
`;

/** A pipeline whose history holds the given incidents, and the history routes on 127.0.0.1. */
export interface HistoryApi {
  /** Null with the history off. */
  db: HistoryDb | null;
  pipeline: Pipeline;
  url: string;
  close(): Promise<void>;
}

/**
 * Opens `backend` (null: the history is off), a pipeline with `runbooks` and the API's clock at
 * `now`, archives `incidents` and `unmatched` through `HistoryStore.write`, and serves the history
 * routes. Open it in beforeAll (PGlite takes seconds); `close` stops and drops everything.
 */
export async function historyApi(
  redisUrl: string,
  backend: HistoryBackend | null,
  opts: {
    runbooks: string[];
    incidents?: IncidentSpec[];
    unmatched?: UnmatchedItem[];
    now?: string;
    auth?: AuthConfig;
  },
): Promise<HistoryApi> {
  const opened = backend ? await backend.open() : null;
  const closers: (() => Promise<void>)[] = opened ? [opened.close] : [];
  const close = async () => {
    for (const fn of [...closers].reverse()) await fn();
  };
  try {
    const pipeline = await testPipeline(redisUrl, opts.runbooks, {
      ...(opened ? { history: opened.db } : {}),
      ...(opts.now ? { now: () => new Date(opts.now as string) } : {}),
    });
    closers.push(() => pipeline.close(5000));
    if (opened)
      await (pipeline.deps.history as HistoryStore).write(
        (opts.incidents ?? []).map(archiveItem),
        opts.unmatched ?? [],
        {},
      );
    const api = await startApi(pipeline, [historyRoutes], opts.auth ? { auth: opts.auth } : {});
    closers.push(() => api.close());
    return { db: opened?.db ?? null, pipeline, url: api.url, close };
  } catch (err) {
    await close();
    throw err;
  }
}
