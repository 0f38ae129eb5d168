import express, { Router } from 'express';
import { z } from 'zod';
import { SLACK_ACTIONS } from '../../engine/slack-actions.ts';
import { InvalidOperationError, NotFoundError } from '../../errors.ts';
import { approveStep, rejectStep } from '../../incidents/operations.ts';
import type { ApiDeps } from '../app.ts';
import { redisErrorsAs503, requireRedis, sendProblem } from '../http-errors.ts';
import { verifySlackSignature } from '../slack-signature.ts';

/**
 * Slack interactivity: the Approve / Reject buttons of an approval message. No bearer token; the
 * request is trusted only when its signature (the app's signing secret) verifies, within five
 * minutes. The route does not exist (404) when no signing secret is configured.
 */

const ActionValueSchema = z.object({ incidentId: z.string().min(1), stepId: z.string().min(1) });

const PayloadSchema = z.object({
  type: z.string(),
  user: z.object({ id: z.string().min(1), username: z.string().optional(), name: z.string().optional() }),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).default([]),
  /** Where Slack shows our answer to the clicker: it ignores the HTTP response's body for buttons. */
  response_url: z.string().url().optional(),
});

const RESPONSE_URL_TIMEOUT_MS = 5000;

/** `slack:U123 (alice)`: the Slack user id is what Slack signed; the name is for people. */
function actorOf(user: z.infer<typeof PayloadSchema>['user']): string {
  const name = user.username ?? user.name;
  return name ? `slack:${user.id} (${name})` : `slack:${user.id}`;
}

/** Route `POST /api/v1/slack/interactions`. */
export function slackRoutes(deps: ApiDeps): Router {
  const router = Router();
  const p = deps.pipeline.deps;
  const now = deps.now ?? (() => new Date());

  router.post(
    '/api/v1/slack/interactions',
    (_req, res, next) => {
      if (!deps.slackSigningSecret)
        return sendProblem(
          res,
          404,
          'Not Found',
          'Slack interactivity is not configured (no signing secret)',
        );
      next();
    },
    // The signature covers the exact bytes, so the form is parsed only after it verifies.
    express.raw({ type: 'application/x-www-form-urlencoded', limit: deps.bodyLimitBytes ?? 1024 * 1024 }),
    (req, res, next) => {
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
    },
    requireRedis(deps),
    async (req, res) => {
      const form = new URLSearchParams((req.body as Buffer).toString('utf8'));
      const raw = form.get('payload');
      if (raw === null)
        return sendProblem(res, 400, 'Bad Request', 'the form has no payload field', {
          errors: [{ field: 'payload', message: 'required' }],
        });
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch (err) {
        return sendProblem(res, 400, 'Bad Request', `payload is not JSON: ${(err as Error).message}`, {
          errors: [{ field: 'payload', message: 'invalid JSON' }],
        });
      }
      const payload = PayloadSchema.parse(json);
      const texts: string[] = [];
      // Other interactions (a link button, a modal) need only the 200 acknowledgement.
      if (payload.type === 'block_actions')
        for (const action of payload.actions) {
          const text = await handleAction(action, actorOf(payload.user), `<@${payload.user.id}>`);
          if (text) texts.push(text);
        }
      if (texts.length === 0) return res.status(200).end();
      const answer = { response_type: 'ephemeral', replace_original: false, text: texts.join('\n') };
      res.json(answer);
      // Slack shows a button click's answer only when it is posted to response_url (a URL Slack
      // signed into the payload); after the 200, so the 3-second acknowledgement is never late.
      if (payload.response_url) void postAnswer(payload.response_url, answer);
    },
  );
  router.use(redisErrorsAs503(deps));

  async function postAnswer(url: string, answer: object): Promise<void> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(answer),
        signal: AbortSignal.timeout(RESPONSE_URL_TIMEOUT_MS),
      });
      if (!res.ok)
        deps.logger.warn({ status: res.status }, 'Slack did not take the answer to a button click');
    } catch (err) {
      // The approval itself is done and on the timeline; only Slack's echo of it is lost.
      deps.logger.warn({ err }, 'could not post the answer to a Slack button click');
    }
  }

  /** Approves or rejects one step; a refusal is a message for the clicker, never a 5xx. */
  async function handleAction(
    action: { action_id: string; value?: string | undefined },
    user: string,
    mention: string,
  ): Promise<string | null> {
    if (action.action_id !== SLACK_ACTIONS.approve && action.action_id !== SLACK_ACTIONS.reject) return null;
    const verb = action.action_id === SLACK_ACTIONS.approve ? 'approve' : 'reject';
    const value = parseValue(action.value);
    if (!value) return `Could not ${verb}: the button does not name an incident step.`;
    const { incidentId, stepId } = value;
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

  return router;
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
