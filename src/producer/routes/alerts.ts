import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { type Request, type RequestHandler, type Response, Router } from 'express';
import { ZodError } from 'zod';
import type { Alert } from '../../engine/types.ts';
import type { IntakeOutcome } from '../../incidents/intake.ts';
import type { Logger } from '../../logger.ts';
import { SPAN_ATTRIBUTES, TRACER_NAME } from '../../runtime/telemetry.ts';
import {
  type ParsedGroup,
  parseAlertmanagerPayload,
  parseGrafanaPayload,
  type RejectedAlert,
  verifyGrafanaSignature,
  type WebhookSource,
} from '../alert-payloads.ts';
import { bearerGrants, requireScope } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { forgeryCheck } from '../forgery-guard.ts';
import { UnavailableError } from '../http-errors.ts';
import { jsonBody } from '../json-body.ts';
import type { PreRoute } from '../pre-route.ts';
import { sendProblem } from '../problem.ts';

/** How many alerts of one group go through intake at once (a group may hold thousands). */
export const INTAKE_CONCURRENCY = 32;
/** A rejected alert's log line names at most this many failing fields, and this much alertname. */
const LOGGED_ERRORS = 10;
const LOGGED_ALERTNAME_LENGTH = 64;

/** The signature header Grafana sets by default. */
const GRAFANA_SIGNATURE_HEADER = 'X-Grafana-Alerting-Signature';
/**
 * Grafana sends a timestamp only under a header the contact point names (there is no default):
 * these two names are accepted.
 */
const GRAFANA_TIMESTAMP_HEADERS = ['X-Grafana-Alerting-Signature-Timestamp', 'X-Grafana-Alerting-Timestamp'];

/** What happened to one alert of the group, in the order the sender listed them. */
export interface AlertResult {
  fingerprint: string;
  alertname: string | null;
  status: Alert['status'];
  outcomes: IntakeOutcome[];
}

/**
 * The 202 body: every valid alert of the group is in Redis (`accepted` of them); `results` say
 * what each one did, in order; `rejected` lists the alerts not taken, with where and why.
 */
export interface IngestResponse {
  accepted: number;
  results: AlertResult[];
  rejected: RejectedAlert[];
}

/**
 * Runs `fn` over `items` with at most `limit` running at once; results keep the input order. After
 * the first failure no new item starts; the in-flight ones settle, then that failure is thrown.
 */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  if (items.length === 1) return [await fn(items[0] as T)]; // most groups: one alert
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, lane));
  const rejected = lanes.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results;
}

/**
 * Takes every valid alert of a group. A 2xx must mean each of them is in Redis (and, with
 * FIRELINE_DURABILITY=replica, on a replica too), so anything short of that is a 503: the sender retries the whole group, and intake is idempotent per fingerprint (a
 * duplicate attaches), so the retry loses and doubles nothing.
 */
async function ingest(deps: ApiDeps, log: Logger, parsed: ParsedGroup): Promise<IngestResponse> {
  const { redis } = deps.pipeline.deps;
  if (redis.status !== 'ready')
    throw new UnavailableError(`Redis is not available (connection ${redis.status}); retry later`);
  if (parsed.truncatedAlerts > 0)
    log.warn({ truncatedAlerts: parsed.truncatedAlerts }, 'the sender truncated this group (max_alerts)');
  let outcomes: IntakeOutcome[][];
  try {
    outcomes = await mapBounded(parsed.alerts, INTAKE_CONCURRENCY, (alert) => deps.pipeline.intake(alert));
  } catch (err) {
    if (err instanceof ZodError) throw err;
    log.error(
      { err, alerts: parsed.alerts.length },
      'alert intake failed; answering 503 so the sender retries',
    );
    throw new UnavailableError('the alerts could not be stored; retry later');
  }
  // FIRELINE_DURABILITY=replica: a 2xx also means a replica has them, so a failover keeps them.
  const durable = await deps.pipeline.deps.durability.confirm();
  if (!durable.ok) {
    log.warn(
      { alerts: parsed.alerts.length, reason: durable.reason },
      'no replica confirmed the alerts in time; answering 503 so the sender retries',
    );
    throw new UnavailableError(`the alerts are not confirmed on a replica (${durable.reason}); retry later`);
  }
  const results = parsed.alerts.map(
    (alert, i): AlertResult => ({
      fingerprint: alert.fingerprint,
      alertname: alert.labels.alertname ?? null,
      status: alert.status,
      outcomes: outcomes[i] ?? [],
    }),
  );
  sayUnmatched(deps, log, parsed.alerts, outcomes);
  // Every delivery, at debug: at info it would be a log line per alert group on the hot path.
  if (log.isLevelEnabled('debug')) {
    const counts: Record<string, number> = {};
    for (const o of outcomes.flat()) counts[o.outcome] = (counts[o.outcome] ?? 0) + 1;
    log.debug({ alerts: results.length, outcomes: counts }, 'alerts taken');
  }
  return { accepted: results.length, results, rejected: parsed.rejected };
}

/** Alert names already said to match no runbook, per pipeline (at most UNMATCHED_NAMES each). */
const unmatchedSaid = new WeakMap<object, Set<string>>();
const UNMATCHED_NAMES = 1000;

/**
 * A firing alert no runbook took is said once per alert name (then the coverage report counts
 * them): with the runbooks that name it but whose matchers did not hold, the usual surprise.
 */
function sayUnmatched(deps: ApiDeps, log: Logger, alerts: readonly Alert[], outcomes: IntakeOutcome[][]) {
  alerts.forEach((alert, i) => {
    if (alert.status !== 'firing' || outcomes[i]?.[0]?.outcome !== 'no_runbook') return;
    const name = alert.labels.alertname ?? '(no alertname)';
    const said = unmatchedSaid.get(deps.pipeline) ?? new Set<string>();
    unmatchedSaid.set(deps.pipeline, said);
    if (said.has(name) || said.size >= UNMATCHED_NAMES) return;
    said.add(name);
    const named = deps.pipeline.deps.catalog
      .all()
      .filter((c) => c.runbook.triggers.some((t) => t.type === 'alert' && t.alertName === name))
      .map((c) => c.runbook.id);
    log.info(
      { alertname: name, ...(named.length ? { runbooks: named } : {}) },
      named.length
        ? `alert ${name} matched no runbook: ${named.join(', ')} name it, but the trigger's matchers did not hold (said once per alert name)`
        : `alert ${name} matched no runbook (said once per alert name)`,
    );
  });
}

/**
 * `ingest` in an `alert.ingest` span, the root of the alert's trace (the trigger job carries its
 * context on), or a child of the sender's when its request has a W3C `traceparent`. Without an
 * OpenTelemetry SDK registered (FIRELINE_OTEL=off) the API's no-op tracer makes this nearly free.
 * Attributes are ids and counts only, never label values.
 */
function tracedIngest(
  deps: ApiDeps,
  log: Logger,
  source: Alert['source'],
  parsed: ParsedGroup,
  headers: IncomingHttpHeaders,
): Promise<IngestResponse> {
  const sender = propagation.extract(context.active(), headers);
  const attributes = {
    'alert.source': source,
    'alert.count': parsed.alerts.length,
    'alert.rejected': parsed.rejected.length,
  };
  return trace
    .getTracer(TRACER_NAME)
    .startActiveSpan('alert.ingest', { kind: SpanKind.SERVER, attributes }, sender, async (span) => {
      try {
        const response = await ingest(deps, log, parsed);
        // Without an SDK (or when not sampled) nothing records the attributes: skip building them.
        if (!span.isRecording()) return response;
        const outcomes = response.results.flatMap((r) => r.outcomes);
        const incidentIds = new Set(outcomes.flatMap((o) => ('incidentId' in o ? [o.incidentId] : [])));
        const runbookIds = new Set(outcomes.flatMap((o) => ('runbookId' in o ? [o.runbookId] : [])));
        if (incidentIds.size) span.setAttribute(SPAN_ATTRIBUTES.incidentId, [...incidentIds]);
        if (runbookIds.size) span.setAttribute(SPAN_ATTRIBUTES.runbookId, [...runbookIds]);
        return response;
      } catch (err) {
        // The error's name, or our own 503 wording: a validation message could quote the payload.
        const message = err instanceof UnavailableError ? err.message : (err as Error).name;
        span.setStatus({ code: SpanStatusCode.ERROR, message });
        throw err;
      } finally {
        span.end();
      }
    });
}

/**
 * Logs and counts each rejected alert: its index, reason and failing fields (paths and our own
 * messages), its fingerprint and a clipped alertname; never its label values.
 */
function reportRejections(
  deps: ApiDeps,
  log: Logger,
  source: WebhookSource,
  rejected: RejectedAlert[],
): void {
  for (const r of rejected) {
    deps.onAlertRejected?.(source, r.reason);
    const errors = r.errors.slice(0, LOGGED_ERRORS).map((e) => `${e.field}: ${e.message}`);
    const { index, reason, fingerprint } = r;
    const alertname = r.alertname?.slice(0, LOGGED_ALERTNAME_LENGTH) ?? null;
    log.warn(
      { index, reason, fingerprint, alertname, errors, errorCount: r.errors.length },
      'alert rejected',
    );
  }
}

/**
 * Answers a parsed group: 202 with the valid alerts taken and the rejected ones listed. When the
 * group had alerts and every one was rejected, 400 listing each: nothing was taken, and resending
 * the same body could not do better (Alertmanager does not retry a 4xx, and its log shows this
 * answer). A 2xx there would tell the sender all was well while nothing was taken. With at least
 * one alert taken, the answer is 202: a 4xx would have the sender count the group as failed,
 * though most of it is stored (and a retry of it only attaches again).
 */
async function answer(
  deps: ApiDeps,
  logs: Record<WebhookSource, Logger>,
  source: WebhookSource,
  parsed: ParsedGroup,
  req: Request,
  res: Response,
): Promise<void> {
  const log = logs[source];
  reportRejections(deps, log, source, parsed.rejected);
  if (parsed.alerts.length === 0 && parsed.rejected.length > 0) {
    const body = {
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: `every alert of the group was rejected (${parsed.rejected.length}); nothing was taken`,
      errors: parsed.rejected.flatMap((r) => r.errors),
      rejected: parsed.rejected,
    };
    res.status(400).type('application/problem+json').send(JSON.stringify(body));
    return;
  }
  sendJson(res, 202, await tracedIngest(deps, log, source, parsed, req.headers));
}

/**
 * `res.status(status).json(body)` as express answers it here (no ETag, no JSON settings, never
 * fresh for a POST), without its header bookkeeping: the same Content-Type and Content-Length.
 */
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** 401 unless the body carries a valid Grafana HMAC; a no-op when no secret is configured. */
function grafanaSignatureCheck(deps: ApiDeps): RequestHandler {
  return (req, res, next) => {
    if (!deps.grafanaSecret) return next();
    const timestampHeader = GRAFANA_TIMESTAMP_HEADERS.find((h) => req.get(h) !== undefined);
    const verdict = verifyGrafanaSignature(
      deps.grafanaSecret,
      {
        signature: req.get(GRAFANA_SIGNATURE_HEADER),
        timestamp: timestampHeader ? req.get(timestampHeader) : undefined,
        // jsonBody keeps the bytes; without a JSON body there are none (and the parse will say so).
        rawBody: (req as unknown as { rawBody?: Buffer }).rawBody ?? '',
      },
      (deps.now ?? (() => new Date()))(),
    );
    if (!verdict.ok) return sendProblem(res, 401, 'Unauthorized', verdict.reason);
    next();
  };
}

/**
 * Alert webhooks (scope `ingest`): `POST /api/v1/alerts/alertmanager` (Alertmanager webhook v4,
 * also v3) and `POST /api/v1/alerts/grafana` (Grafana webhook contact point v1, HMAC-verified when
 * a secret is set). Each alert is checked on its own. Both answer 202 `{ accepted, results,
 * rejected }` once every valid alert is in Redis, listing the rejected ones; 400 naming the fields
 * when the body is not a group, or when it had alerts and none was valid; 503 with Retry-After
 * when Redis cannot take them.
 */
export function alertRoutes(deps: ApiDeps): Router {
  const router = Router();
  const ingestScope = requireScope(deps.auth, 'ingest');
  const logs = webhookLogs(deps);
  router.post(ALERTMANAGER_PATH, ingestScope, jsonBody(deps), (req, res) =>
    answer(deps, logs, 'alertmanager', parseAlertmanagerPayload(req.body), req, res),
  );
  router.post(
    '/api/v1/alerts/grafana',
    ingestScope,
    jsonBody(deps),
    grafanaSignatureCheck(deps),
    (req, res) => answer(deps, logs, 'grafana', parseGrafanaPayload(req.body), req, res),
  );
  return router;
}

const ALERTMANAGER_PATH = '/api/v1/alerts/alertmanager';

/** One child logger per webhook, made once rather than per request. */
function webhookLogs(deps: ApiDeps): Record<WebhookSource, Logger> {
  return {
    alertmanager: deps.logger.child({ source: 'alertmanager' }),
    grafana: deps.logger.child({ source: 'grafana' }),
  };
}

/**
 * The Alertmanager webhook before express (src/producer/pre-route.ts), for what nearly every
 * delivery is: a POST to exactly its path that the app's forged-request guard and the `ingest`
 * scope let through, whose body the route's own JSON parser reads and whose alerts are all valid.
 * Those are taken and answered 202 exactly as the route above does, without express. Anything else
 * goes to express before the body is read (other paths and spellings of this one, a refusal), with
 * the body read (a body that is not a group, or has a rejected alert or none: the parser leaves a
 * read body as it is), or with the error (the parser's, Redis unavailable, intake failed): the
 * route and the error handler answer those.
 */
alertRoutes.preRoute = (deps: ApiDeps): PreRoute => {
  const guard = forgeryCheck(deps);
  const readBody = jsonBody(deps);
  const log = webhookLogs(deps).alertmanager;
  return (req, res, toExpress) => {
    if (req.method !== 'POST' || req.url !== ALERTMANAGER_PATH) return false;
    if (guard(req, ALERTMANAGER_PATH) !== null || !bearerGrants(deps.auth, req.headers, 'ingest'))
      return false;
    const request = req as typeof req & { body?: unknown };
    readBody(request as Request, res as Response, (error?: unknown) => {
      if (error) return toExpress({ error });
      let parsed: ParsedGroup;
      try {
        parsed = parseAlertmanagerPayload(request.body);
      } catch {
        return toExpress(); // not a group: the route answers 400 naming the fields
      }
      if (parsed.alerts.length === 0 || parsed.rejected.length > 0) return toExpress();
      tracedIngest(deps, log, 'alertmanager', parsed, req.headers).then(
        (response) => sendJson(res, 202, response),
        (failure: unknown) => toExpress({ error: failure }),
      );
    });
    return true;
  };
};
