import express, { type RequestHandler, Router } from 'express';
import { z } from 'zod';
import { SLACK_ACTIONS } from '../../engine/slack-actions.ts';
import { InvalidOperationError, NotFoundError } from '../../errors.ts';
import { approveStep, rejectStep } from '../../incidents/operations.ts';
import type { Logger } from '../../logger.ts';
import type { ApiDeps } from '../deps.ts';
import { redisErrorsAs503, requireRedis } from '../http-errors.ts';
import { type FieldError, sendProblem } from '../problem.ts';
import { verifySlackSignature } from '../slack-signature.ts';

/**
 * Slack interactivity: the Approve / Reject buttons of an approval message. No bearer token; the
 * request is trusted only when its signature (the app's signing secret) verifies, within five
 * minutes. The route does not exist (404) when no signing secret is configured.
 *
 * Who may press the buttons: the Slack user ids of `slackApprovers` (`slack.approvers` in
 * fireline.yaml, `SLACK_APPROVERS`). A click names only the clicker's user id (`user.id`, signed
 * by Slack), so the list holds user ids, never user-group ids: group membership would need Slack's
 * API, which Fireline does not call. A click from anyone else approves and rejects nothing; the
 * clicker is told so. Without a list any member of the workspace may decide, and building the
 * routes (at start) logs a warning saying so.
 */

const ActionValueSchema = z.object({ incidentId: z.string().min(1), stepId: z.string().min(1) });

const PayloadSchema = z.object({
  type: z.string(),
  user: z.object({ id: z.string().min(1), username: z.string().optional(), name: z.string().optional() }),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).default([]),
  /** Where Slack shows our answer to the clicker: it ignores the HTTP response's body for buttons. */
  response_url: z.string().url().optional(),
});

type Payload = z.infer<typeof PayloadSchema>;

const RESPONSE_URL_TIMEOUT_MS = 5000;

/** `slack:U123 (alice)`: the Slack user id is what Slack signed; the name is for people. */
function actorOf(user: Payload['user']): string {
  const name = user.username ?? user.name;
  return name ? `slack:${user.id} (${name})` : `slack:${user.id}`;
}

/** Route `POST /api/v1/slack/interactions`. */
export function slackRoutes(deps: ApiDeps): Router {
  if (deps.slackSigningSecret && deps.slackApprovers === undefined)
    deps.logger.warn(
      'SLACK APPROVALS ARE OPEN: any member of the Slack workspace can approve or reject remediation steps with the buttons; set slack.approvers in fireline.yaml or SLACK_APPROVERS to the Slack user ids allowed to',
    );
  const router = Router();
  router.post(
    '/api/v1/slack/interactions',
    requireSigningSecret(deps),
    // The signature covers the exact bytes, so the form is parsed only after it verifies.
    express.raw({ type: 'application/x-www-form-urlencoded', limit: deps.bodyLimitBytes ?? 1024 * 1024 }),
    verifySignature(deps),
    requireRedis(deps),
    answerInteraction(deps),
  );
  router.use(redisErrorsAs503(deps));
  return router;
}

/** 404 while no signing secret is configured: without one no request can be trusted. */
function requireSigningSecret(deps: ApiDeps): RequestHandler {
  return (_req, res, next) => {
    if (!deps.slackSigningSecret)
      return sendProblem(res, 404, 'Not Found', 'Slack interactivity is not configured (no signing secret)');
    next();
  };
}

/** 415 for a body that is not a form, 401 unless Slack's signature of its bytes verifies. */
function verifySignature(deps: ApiDeps): RequestHandler {
  const now = deps.now ?? (() => new Date());
  return (req, res, next) => {
    if (!Buffer.isBuffer(req.body))
      return sendProblem(res, 415, 'Unsupported Media Type', 'expected application/x-www-form-urlencoded');
    const verified = verifySlackSignature(
      deps.slackSigningSecret!,
      {
        signature: req.get('X-Slack-Signature'),
        timestamp: req.get('X-Slack-Request-Timestamp'),
        rawBody: req.body,
      },
      now(),
    );
    if (!verified.ok) return sendProblem(res, 401, 'Unauthorized', verified.reason);
    next();
  };
}

/** Acts on a verified interaction and answers the clicker. */
function answerInteraction(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const form = formPayload(req.body as Buffer);
    if (!form.ok) return sendProblem(res, 400, 'Bad Request', form.detail, { errors: [form.error] });
    const payload = PayloadSchema.parse(form.json);
    const texts = await handleActions(deps, payload);
    if (texts.length === 0) return res.status(200).end();
    const answer = { response_type: 'ephemeral', replace_original: false, text: texts.join('\n') };
    res.json(answer);
    // Slack shows a button click's answer only when it is posted to response_url (a URL Slack
    // signed into the payload); after the 200, so the 3-second acknowledgement is never late.
    if (payload.response_url) void postAnswer(deps.logger, payload.response_url, answer);
  };
}

/** The JSON of the form's `payload` field, or why there is none. */
function formPayload(
  body: Buffer,
): { ok: true; json: unknown } | { ok: false; detail: string; error: FieldError } {
  const raw = new URLSearchParams(body.toString('utf8')).get('payload');
  if (raw === null)
    return {
      ok: false,
      detail: 'the form has no payload field',
      error: { field: 'payload', message: 'required' },
    };
  try {
    return { ok: true, json: JSON.parse(raw) };
  } catch (err) {
    return {
      ok: false,
      detail: `payload is not JSON: ${(err as Error).message}`,
      error: { field: 'payload', message: 'invalid JSON' },
    };
  }
}

/** The answers to the clicked buttons, in order. */
async function handleActions(deps: ApiDeps, payload: Payload): Promise<string[]> {
  const texts: string[] = [];
  // Other interactions (a link button, a modal) need only the 200 acknowledgement.
  if (payload.type !== 'block_actions') return texts;
  for (const action of payload.actions) {
    const text = await handleAction(deps, action, payload.user);
    if (text) texts.push(text);
  }
  return texts;
}

/** Approves or rejects one step; a refusal is a message for the clicker, never a 5xx. */
async function handleAction(
  deps: ApiDeps,
  action: Payload['actions'][number],
  clicker: Payload['user'],
): Promise<string | null> {
  if (action.action_id !== SLACK_ACTIONS.approve && action.action_id !== SLACK_ACTIONS.reject) return null;
  const verb = action.action_id === SLACK_ACTIONS.approve ? 'approve' : 'reject';
  const user = actorOf(clicker);
  const mention = `<@${clicker.id}>`;
  if (deps.slackApprovers && !deps.slackApprovers.includes(clicker.id)) {
    deps.logger.warn({ actor: user, value: action.value }, `Slack ${verb} refused: not on slack.approvers`);
    return `You are not allowed to ${verb} Fireline steps from Slack: ${mention} is not on the approver list (slack.approvers). Ask an approver, or use the incident page.`;
  }
  const value = parseValue(action.value);
  if (!value) return `Could not ${verb}: the button does not name an incident step.`;
  const { incidentId, stepId } = value;
  const p = deps.pipeline.deps;
  try {
    const step =
      verb === 'approve'
        ? await approveStep(p, incidentId, stepId, { user })
        : await rejectStep(p, incidentId, stepId, { user });
    deps.logger.info({ incidentId, stepId, actor: user }, `step ${verb}d from Slack`);
    return `${verb === 'approve' ? 'Approved' : 'Rejected'} by ${mention}: ${step.name} (${stepId}) on incident ${incidentId}`;
  } catch (err) {
    if (err instanceof InvalidOperationError || err instanceof NotFoundError)
      return `Could not ${verb}: ${err.message}`;
    throw err;
  }
}

function parseValue(value: string | undefined): z.infer<typeof ActionValueSchema> | null {
  if (!value) return null;
  try {
    const parsed = ActionValueSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : null;
  } catch (err) {
    if (err instanceof SyntaxError) return null;
    throw err;
  }
}

/** Posts the answer to Slack's response_url; a failure is logged, never thrown. */
async function postAnswer(logger: Logger, url: string, answer: object): Promise<void> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(answer),
      signal: AbortSignal.timeout(RESPONSE_URL_TIMEOUT_MS),
    });
    if (!res.ok) logger.warn({ status: res.status }, 'Slack did not take the answer to a button click');
  } catch (err) {
    // The approval itself is done and on the timeline; only Slack's echo of it is lost.
    logger.warn({ err }, 'could not post the answer to a Slack button click');
  }
}
