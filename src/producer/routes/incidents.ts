import { type RequestHandler, Router } from 'express';
import { z } from 'zod';
import type { CompiledRunbook } from '../../engine/compile.ts';
import { channelsFor } from '../../engine/notification-policy.ts';
import { renderReport } from '../../engine/report.ts';
import { SeveritySchema } from '../../engine/runbook-schema.ts';
import { fingerprintFromLabels } from '../../engine/triggers.ts';
import { type Alert, INCIDENT_STATUSES } from '../../engine/types.ts';
import { FirelineError, NotFoundError } from '../../errors.ts';
import { findIncident, findTimeline } from '../../incidents/archive.ts';
import { chartViews } from '../../incidents/charts.ts';
import type { PipelineDeps } from '../../incidents/deps.ts';
import type { IntakeOutcome } from '../../incidents/intake.ts';
import {
  acknowledge,
  approveStep,
  completeStep,
  rejectStep,
  resolveIncident,
} from '../../incidents/operations.ts';
import { jobIds } from '../../queues/catalog.ts';
import { actorOf, requireScope } from '../auth.ts';
import { chartImage, chartTitle } from '../chart-image.ts';
import type { ApiDeps } from '../deps.ts';
import { redisErrorsAs503, requireRedis, UnavailableError } from '../http-errors.ts';
import { jsonBody } from '../json-body.ts';
import { sendProblem } from '../problem.ts';
import { reportHtml } from '../report-html.ts';

/**
 * The operator API on incidents: list, read, timeline, report, manual trigger, and the responder
 * operations (approve/reject, complete, acknowledge, resolve), which are the ones in
 * `src/incidents/operations.ts` so the API, the CLI and Slack buttons behave the same.
 */

const Id = z.string().min(1).max(200);
const Comment = z.string().max(2000).optional();
const Labels = z.record(z.string().min(1).max(200), z.string().max(2000));

const ListQuery = z.object({
  status: z.enum(INCIDENT_STATUSES).optional(),
  service: z.string().min(1).optional(),
  severity: SeveritySchema.optional(),
  runbook: z.string().min(1).optional(),
  open: z.enum(['true', 'false']).optional(),
  cursor: z
    .string()
    .regex(/^\d+:\S+$/, { error: 'expected the nextCursor of a previous page' })
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const TimelineQuery = z.object({
  after: z
    .string()
    .regex(/^\d{1,20}(-\d{1,20})?$/, { error: 'expected a timeline event id such as 1700000000000-0' })
    .optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
});

const TriggerBody = z.strictObject({
  runbookId: Id,
  labels: Labels.optional(),
  annotations: Labels.optional(),
  note: z.string().min(1).max(2000).optional(),
});
const ApprovalBody = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  comment: Comment,
  /** The rendering the approver was shown (`PlanStep.action.hash`); a decision on another is a 409. */
  hash: z
    .string()
    .regex(/^[0-9a-f]{12}$/, { error: 'expected the 12 hex digits of the step action hash' })
    .optional(),
});
const CommentBody = z.strictObject({ comment: Comment });

/** The route's `:id` (and `:stepId`), validated. */
function params(p: unknown): { id: string; stepId: string } {
  return z.object({ id: Id, stepId: Id.optional().default('') }).parse(p);
}

/** The incident from Redis, or from the history once Redis has swept it; else 404. */
async function requireIncident(deps: PipelineDeps, id: string) {
  const incident = await findIncident(deps, id);
  if (!incident) throw new NotFoundError(`incident '${id}'`);
  return incident;
}

/** When the pending escalation timer fires, or null when none is pending. */
async function escalationDueAt(deps: PipelineDeps, incidentId: string): Promise<string | null> {
  const job = await deps.queues.byName.notifications.getJob(jobIds.escalate(incidentId));
  if (!job) return null;
  const state = await job.getState();
  if (state !== 'delayed' && state !== 'waiting' && state !== 'prioritized') return null;
  return new Date(job.timestamp + (job.opts.delay ?? 0)).toISOString();
}

/** What a responder needs of the runbook beside the incident (not the whole document). */
function runbookSummary(compiled: CompiledRunbook | undefined) {
  if (!compiled) return null;
  const { id, name, description, severity, service, diagnostics, escalation } = compiled.runbook;
  return {
    id,
    name,
    description,
    severity,
    service,
    diagnostics: diagnostics.map((d) => ({
      id: d.id,
      name: d.name,
      type: d.type,
      description: d.description,
    })),
    escalation,
  };
}

/** A manual trigger as an alert: the runbook's first alert name unless labels say otherwise. */
function manualAlert(compiled: CompiledRunbook, body: z.infer<typeof TriggerBody>, now: Date): Alert {
  const firstAlert = compiled.runbook.triggers.find((t) => t.type === 'alert');
  const labels = { alertname: firstAlert?.alertName ?? compiled.runbook.id, ...body.labels };
  return {
    source: 'manual',
    status: 'firing',
    labels,
    annotations: body.annotations ?? {},
    fingerprint: fingerprintFromLabels(labels),
    startsAt: now.toISOString(),
  };
}

/** Routes under `/api/v1/incidents`. */
export function incidentRoutes(deps: ApiDeps): Router {
  const router = Router();
  const p = deps.pipeline.deps;
  const read = [requireScope(deps.auth, 'viewer'), requireRedis(deps)];
  const act = [requireScope(deps.auth, 'operator'), requireRedis(deps), jsonBody(deps)];
  const base = '/api/v1/incidents';
  router.get(base, ...read, listIncidents(p));
  router.post(base, ...act, triggerIncident(deps));
  router.get(`${base}/:id`, ...read, getIncident(p));
  router.get(`${base}/:id/timeline`, ...read, getTimeline(p));
  router.get(`${base}/:id/report.md`, ...read, getReport(p));
  router.get(`${base}/:id/report.html`, ...read, getReportHtml(p));
  router.get(`${base}/:id/charts`, ...read, getCharts(p));
  router.get(`${base}/:id/charts/:file`, ...read, getChartImage(p));
  // No token: the signature is the permission, for one chart until it expires.
  router.get('/api/v1/chart-images/:id/:file', requireRedis(deps), getSignedChartImage(p));
  router.post(`${base}/:id/approvals/:stepId`, ...act, decideApproval(p));
  router.post(`${base}/:id/steps/:stepId/complete`, ...act, completeManualStep(p));
  router.post(`${base}/:id/ack`, ...act, acknowledgeIncident(p));
  router.post(`${base}/:id/resolve`, ...act, markResolved(p));
  router.use(redisErrorsAs503(deps));
  return router;
}

/** `GET /api/v1/incidents`: one page of incidents, filtered. */
function listIncidents(p: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const q = ListQuery.parse(req.query);
    const page = await p.store.list(
      {
        ...(q.status ? { status: q.status } : {}),
        ...(q.service ? { service: q.service } : {}),
        ...(q.severity ? { severity: q.severity } : {}),
        ...(q.runbook ? { runbookId: q.runbook } : {}),
        ...(q.open ? { open: q.open === 'true' } : {}),
      },
      { limit: q.limit, ...(q.cursor ? { cursor: q.cursor } : {}) },
    );
    res.json(page);
  };
}

/** `POST /api/v1/incidents`: a manual trigger of a runbook, with an optional note. */
function triggerIncident(deps: ApiDeps): RequestHandler {
  const p = deps.pipeline.deps;
  return async (req, res) => {
    const body = TriggerBody.parse(req.body ?? {});
    const compiled = p.catalog.require(body.runbookId);
    const actor = actorOf(res);
    const outcomes = await intakeManual(deps, compiled, body, actor);
    const first = outcomes[0];
    if (first?.outcome !== 'opened' && first?.outcome !== 'attached')
      throw new Error(`manual trigger of ${compiled.runbook.id} gave outcome ${first?.outcome}`);
    if (body.note) await p.store.appendEvent(first.incidentId, { type: 'note', actor, message: body.note });
    res.status(201).json({ incidentId: first.incidentId, outcome: first.outcome });
  };
}

/** Takes a manual trigger; a failure that is not a refusal is a 503 the operator may retry. */
async function intakeManual(
  deps: ApiDeps,
  compiled: CompiledRunbook,
  body: z.infer<typeof TriggerBody>,
  actor: string,
): Promise<IntakeOutcome[]> {
  try {
    return await deps.pipeline.intake(manualAlert(compiled, body, deps.pipeline.deps.now()), {
      runbookId: compiled.runbook.id,
      actor,
    });
  } catch (err) {
    if (err instanceof FirelineError) throw err;
    deps.logger.warn({ err, runbookId: compiled.runbook.id }, 'manual trigger could not be recorded');
    throw new UnavailableError('the trigger could not be recorded (Redis unavailable); retry shortly');
  }
}

/**
 * `GET /api/v1/incidents/:id`: the incident, its runbook's summary, and the escalation: when it is
 * due and the channels it pages (the notification policy's `escalated`).
 */
function getIncident(p: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const incident = await requireIncident(p, params(req.params).id);
    const compiled = p.catalog.get(incident.runbookId);
    res.json({
      incident,
      runbook: runbookSummary(compiled),
      escalation: {
        dueAt: await escalationDueAt(p, incident.id),
        ...(compiled ? { channels: channelsFor('escalated', compiled.runbook, p.notifications) } : {}),
      },
    });
  };
}

/** `GET /api/v1/incidents/:id/timeline`: one page of the timeline. */
function getTimeline(p: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const { id } = params(req.params);
    const q = TimelineQuery.parse(req.query);
    await requireIncident(p, id);
    const events = await findTimeline(p, id, { limit: q.limit, ...(q.after ? { after: q.after } : {}) });
    res.json({ events });
  };
}

/**
 * `GET /api/v1/incidents/:id/report.md`: the incident report as a Markdown download, its charts as
 * links to their SVG under the public URL.
 */
function getReport(p: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const incident = await requireIncident(p, params(req.params).id);
    const timeline = await findTimeline(p, incident.id);
    const views = await chartViews(p, incident, timeline);
    const base = (p.publicUrl ?? '').replace(/\/+$/, '');
    const charts = views.map((v) => ({
      title: chartTitle(v),
      summary: v.summary,
      src: `${base}/api/v1/incidents/${encodeURIComponent(incident.id)}/charts/${encodeURIComponent(v.key)}.svg`,
    }));
    res
      .type('text/markdown; charset=utf-8')
      .setHeader('Content-Disposition', `attachment; filename="${fileName(incident.id)}.md"`)
      .send(renderReport(incident, timeline, charts));
  };
}

/** `GET /api/v1/incidents/:id/report.html`: the report as one self-contained page, charts inline. */
function getReportHtml(p: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const incident = await requireIncident(p, params(req.params).id);
    const timeline = await findTimeline(p, incident.id);
    const views = await chartViews(p, incident, timeline);
    const charts = views.map((v, i) => ({
      view: v,
      placeholder: `fireline-chart-${i}`,
      svg: chartImage(v, 'svg', 'light').toString('utf8'),
    }));
    const markdown = renderReport(
      incident,
      timeline,
      charts.map((c) => ({ title: chartTitle(c.view), summary: c.view.summary, src: c.placeholder })),
    );
    const title = `Incident ${incident.id}: ${incident.runbookName}`;
    res
      .type('text/html; charset=utf-8')
      .setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
      .setHeader('Content-Disposition', `attachment; filename="${fileName(incident.id)}.html"`)
      .send(
        reportHtml(
          title,
          markdown,
          charts.map((c) => ({ ...c, summary: c.view.summary })),
        ),
      );
  };
}

const fileName = (id: string) => id.replace(/["\\\r\n]/g, '_');

/** `GET /api/v1/incidents/:id/charts`: the incident's charts (src/incidents/charts.ts), with their images. */
function getCharts(p: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const incident = await requireIncident(p, params(req.params).id);
    const views = await chartViews(p, incident);
    const base = `/api/v1/incidents/${encodeURIComponent(incident.id)}/charts`;
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      charts: views.map((v) => ({ ...v, svgUrl: `${base}/${encodeURIComponent(v.key)}.svg` })),
    });
  };
}

const ChartFile = z.object({
  file: z.string().regex(/^(verify:)?[A-Za-z0-9_-]{1,64}\.(svg|png)$/, {
    error: 'expected <stepId>.svg, <stepId>.png, verify:<stepId>.svg or verify:<stepId>.png',
  }),
});
const ChartQuery = z.object({ theme: z.enum(['light', 'dark']).default('light') });

/** `GET /api/v1/incidents/:id/charts/:key.svg` (or `.png`, `?theme=dark`): one chart as an image. */
function getChartImage(p: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const incident = await requireIncident(p, params(req.params).id);
    const { file } = ChartFile.parse(req.params);
    const { theme } = ChartQuery.parse(req.query);
    const format = file.endsWith('.png') ? 'png' : 'svg';
    const key = file.slice(0, -'.svg'.length);
    const view = (await chartViews(p, incident)).find((v) => v.key === key);
    if (!view) throw new NotFoundError(`chart '${key}' of incident '${incident.id}'`);
    res
      .type(format === 'png' ? 'image/png' : 'image/svg+xml; charset=utf-8')
      .setHeader('Cache-Control', 'no-store')
      // An SVG opened on its own is a document: it may run nothing, load nothing.
      .setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
      .setHeader('X-Content-Type-Options', 'nosniff')
      .send(chartImage(view, format, theme));
  };
}

const SignedQuery = z.object({
  exp: z.coerce.number().int(),
  sig: z.string().regex(/^[A-Za-z0-9_-]{43}$/, { error: 'expected a signature' }),
});

/**
 * `GET /api/v1/chart-images/:id/:key.png?exp=…&sig=…`: one chart's PNG through a signed link
 * (src/store/chart-links.ts), for receivers such as Slack that fetch images without a token. An
 * expired, altered or foreign link is a 403 that says only that.
 */
function getSignedChartImage(p: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const { id } = params(req.params);
    const { file } = ChartFile.parse(req.params);
    const query = SignedQuery.safeParse(req.query);
    const key = file.slice(0, -'.png'.length);
    const valid =
      file.endsWith('.png') &&
      query.success &&
      (await p.chartLinks.verify(id, key, query.data.exp, query.data.sig, p.now().getTime()));
    if (!valid)
      return sendProblem(res, 403, 'Forbidden', 'this chart link is not valid (expired or altered)');
    const incident = await requireIncident(p, id);
    const view = (await chartViews(p, incident)).find((v) => v.key === key);
    if (!view) throw new NotFoundError(`chart '${key}' of incident '${id}'`);
    res
      .type('image/png')
      .setHeader('Cache-Control', 'private, max-age=3600')
      .send(chartImage(view, 'png', 'light'));
  };
}

/** `POST /api/v1/incidents/:id/approvals/:stepId`: approves or rejects a step. */
function decideApproval(p: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const { id, stepId } = params(req.params);
    const body = ApprovalBody.parse(req.body ?? {});
    const who = {
      user: actorOf(res),
      ...(body.comment ? { comment: body.comment } : {}),
      ...(body.hash ? { hash: body.hash } : {}),
    };
    const step =
      body.decision === 'approve'
        ? await approveStep(p, id, stepId, who)
        : await rejectStep(p, id, stepId, who);
    res.json({ step });
  };
}

/** `POST /api/v1/incidents/:id/steps/:stepId/complete`: a manual step done by a responder. */
function completeManualStep(p: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const { id, stepId } = params(req.params);
    const body = CommentBody.parse(req.body ?? {});
    const step = await completeStep(p, id, stepId, {
      user: actorOf(res),
      ...(body.comment ? { comment: body.comment } : {}),
    });
    res.json({ step });
  };
}

/** `POST /api/v1/incidents/:id/ack`. */
function acknowledgeIncident(p: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const { changed } = await acknowledge(p, params(req.params).id, actorOf(res));
    res.json({ acknowledged: true, changed });
  };
}

/** `POST /api/v1/incidents/:id/resolve`: answers the resolved incident. */
function markResolved(p: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const { id } = params(req.params);
    const body = CommentBody.parse(req.body ?? {});
    await resolveIncident(p, id, actorOf(res), body.comment);
    res.json({ incident: await requireIncident(p, id) });
  };
}
