import { Writable } from 'node:stream';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { slackActionValue } from '../../src/engine/slack-actions.ts';
import { createLogger } from '../../src/logger.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import type { ApiDeps } from '../../src/producer/deps.ts';
import { incidentRoutes } from '../../src/producer/routes/incidents.ts';
import { slackRoutes } from '../../src/producer/routes/slack.ts';
import { actionMarker, apiRunbook, call } from '../helpers/api.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { eventsUntil, FAST_WORKERS, testPipeline } from '../helpers/pipeline.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { postSlackInteraction, slackClick } from '../helpers/slack-interactions.ts';

const redisUrl = inject('redisUrl');
const SECRET = 'slack-signing-secret';
const auth = { operatorToken: 'op' };

/** A block_actions payload as Slack sends it when `user` clicks one button. */
let responseUrl = '';

const clicked = (actionId: string, value: string, user?: { id: string; username?: string }) =>
  slackClick(actionId, value, responseUrl, user);

describe('Slack interactivity', () => {
  let pipeline: Pipeline | undefined;
  const servers: ApiServer[] = [];
  const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    for (const r of receivers.splice(0)) await r.close();
    await pipeline?.close(5000);
    pipeline = undefined;
  });

  async function setup(extra: Partial<ApiDeps> = { slackSigningSecret: SECRET }) {
    const slack = await startReceiver();
    receivers.push(slack);
    responseUrl = `${slack.url}/actions/T0001/1/abc`;
    const marker = actionMarker();
    pipeline = await testPipeline(redisUrl, [apiRunbook({ marker: marker.path })]);
    await pipeline.startWorkers(FAST_WORKERS);
    const api = await startApi(pipeline, [incidentRoutes, slackRoutes], { auth, ...extra });
    servers.push(api);
    const opened = await call(api.url, 'POST', '/api/v1/incidents', {
      token: auth.operatorToken,
      body: { runbookId: 'payment-service-slow' },
    });
    const id = opened.body.incidentId as string;
    await eventsUntil(pipeline, id, (e) => e.type === 'remediation.succeeded');
    return { url: api.url, id, marker, slack };
  }

  /** Posts `payload` form-encoded, signed with `secret` at `timestamp` (Unix seconds). */
  const send = (
    url: string,
    payload: unknown,
    opts: { secret?: string; timestamp?: number; contentType?: string } = {},
  ) => postSlackInteraction(url, payload, opts.secret ?? SECRET, opts);

  const stepOf = async (id: string, stepId: string) =>
    (await pipeline!.deps.store.get(id))?.plan.find((s) => s.stepId === stepId);

  it('a signed Approve click approves the step as the Slack user and the fix runs', async () => {
    const { url, id, marker, slack } = await setup();
    const res = await send(url, clicked('approve', slackActionValue(id, 'rollback_deployment')));
    expect(res.status, res.text).toBe(200);
    const answer = `Approved by <@U024BE7LH>: Roll back (rollback_deployment) on incident ${id}`;
    expect(res.json).toMatchObject({ response_type: 'ephemeral', text: answer });
    // Slack shows the clicker only what is posted to response_url.
    await expect
      .poll(() => slack.received.map((r) => [r.path, JSON.parse(r.body).text]))
      .toEqual([['/actions/T0001/1/abc', answer]]);
    await eventsUntil(
      pipeline!,
      id,
      (e) => e.type === 'remediation.succeeded' && e.data?.stepId === 'rollback_deployment',
    );
    expect(marker.ran()).toEqual(['kill', 'rollback']);
    expect(await stepOf(id, 'rollback_deployment')).toMatchObject({
      state: 'succeeded',
      by: 'slack:U024BE7LH (alice)',
    });
    const approval = (await pipeline!.deps.store.timeline(id)).find((e) => e.type === 'remediation.approved');
    expect(approval?.actor).toBe('slack:U024BE7LH (alice)');

    // A second click (another approver, or the same one twice) is refused in words, not a 5xx.
    const again = await send(url, clicked('reject', slackActionValue(id, 'rollback_deployment')));
    expect(again.status, again.text).toBe(200);
    expect(again.json.text).toMatch(/^Could not reject: cannot reject rollback_deployment: it is succeeded/);
    const unknown = await send(url, clicked('approve', slackActionValue('inc-nope', 'rollback_deployment')));
    expect(unknown.status).toBe(200);
    expect(unknown.json.text).toBe("Could not approve: incident 'inc-nope' not found");
    const garbled = await send(url, clicked('approve', 'not json'));
    expect(garbled.json.text).toBe('Could not approve: the button does not name an incident step.');
  });

  it('a Reject click rejects the step; other interactions are acknowledged and change nothing', async () => {
    const { url, id, marker } = await setup();
    const link = await send(url, clicked('open_console', 'x'));
    expect([link.status, link.text]).toEqual([200, '']);
    const modal = await send(url, { type: 'view_closed', user: { id: 'U1' } });
    expect([modal.status, modal.text]).toEqual([200, '']);
    expect((await stepOf(id, 'rollback_deployment'))?.state).toBe('awaiting_approval');

    const res = await send(
      url,
      clicked('reject', slackActionValue(id, 'rollback_deployment'), { id: 'U9', username: 'bob' }),
    );
    expect(res.status, res.text).toBe(200);
    expect(res.json.text).toBe(`Rejected by <@U9>: Roll back (rollback_deployment) on incident ${id}`);
    expect(await stepOf(id, 'rollback_deployment')).toMatchObject({
      state: 'rejected',
      by: 'slack:U9 (bob)',
    });
    expect(marker.ran()).toEqual(['kill']);
  });

  it('refuses a bad signature, an old timestamp and a wrong content type; 404 without a secret', async () => {
    const { url, id } = await setup();
    const approve = clicked('approve', slackActionValue(id, 'rollback_deployment'));
    const forged = await send(url, approve, { secret: 'guessed' });
    expect(forged.status, forged.text).toBe(401);
    expect(forged.json).toMatchObject({ status: 401, detail: 'the Slack signature does not match' });
    const old = await send(url, approve, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(old.status, old.text).toBe(401);
    expect(old.json.detail).toMatch(/more than 300 s/);
    const json = await send(url, approve, { contentType: 'application/json' });
    expect(json.status, json.text).toBe(415);
    const unsigned = await fetch(`${url}/api/v1/slack/interactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'payload=%7B%7D',
    });
    expect(unsigned.status).toBe(401);
    await unsigned.body?.cancel();
    expect((await stepOf(id, 'rollback_deployment'))?.state, 'nothing was approved').toBe(
      'awaiting_approval',
    );

    const off = await startApi(pipeline!, [slackRoutes], {});
    servers.push(off);
    const notConfigured = await send(off.url, approve);
    expect(notConfigured.status, notConfigured.text).toBe(404);
  });

  const APPROVER = { id: 'U0APPROVE1', username: 'carol' };
  const OUTSIDER = { id: 'U024BE7LH', username: 'alice' };
  const ROLLBACK = 'rollback_deployment';

  it('refuses a user not on slack.approvers (told through response_url); a listed user approves, named as actor', async () => {
    const approvers = [APPROVER.id, 'W0GRIDUSER'];
    const { url, id, marker, slack } = await setup({ slackSigningSecret: SECRET, slackApprovers: approvers });
    const click = (action: string, user: typeof APPROVER) =>
      send(url, clicked(action, slackActionValue(id, ROLLBACK), user));
    for (const action of ['approve', 'reject']) {
      const res = await click(action, OUTSIDER);
      expect(res.status, res.text).toBe(200);
      expect(res.json.text).toMatch(new RegExp(`^You are not allowed to ${action} .*<@${OUTSIDER.id}>`));
    }
    // Slack shows the clicker only what is posted to response_url.
    await expect
      .poll(() => slack.received.map((r) => JSON.parse(r.body).text as string))
      .toEqual([
        expect.stringMatching(/not allowed to approve/),
        expect.stringMatching(/not allowed to reject/),
      ]);
    expect(await stepOf(id, ROLLBACK)).toMatchObject({ state: 'awaiting_approval' });
    expect((await stepOf(id, ROLLBACK))?.by).toBeUndefined();
    const decided = async () =>
      (await pipeline!.deps.store.timeline(id)).filter((e) =>
        /remediation\.(approved|rejected)/.test(e.type),
      );
    expect(await decided()).toEqual([]);
    expect(marker.ran()).toEqual(['kill']);

    const res = await click('approve', APPROVER);
    const answer = `Approved by <@${APPROVER.id}>: Roll back (${ROLLBACK}) on incident ${id}`;
    expect([res.status, res.json.text]).toEqual([200, answer]);
    await expect.poll(() => slack.received.map((r) => JSON.parse(r.body).text).at(-1)).toBe(answer);
    await eventsUntil(
      pipeline!,
      id,
      (e) => e.type === 'remediation.succeeded' && e.data?.stepId === ROLLBACK,
    );
    expect(marker.ran()).toEqual(['kill', 'rollback']);
    const actor = `slack:${APPROVER.id} (${APPROVER.username})`;
    expect(await stepOf(id, ROLLBACK)).toMatchObject({ state: 'succeeded', by: actor });
    expect((await decided()).map((e) => [e.type, e.actor])).toEqual([['remediation.approved', actor]]);
  });

  it('an empty slack.approvers lets nobody decide from Slack', async () => {
    const { url, id } = await setup({ slackSigningSecret: SECRET, slackApprovers: [] });
    const res = await send(url, clicked('approve', slackActionValue(id, ROLLBACK), APPROVER));
    expect(res.json.text).toMatch(/^You are not allowed to approve/);
    expect((await stepOf(id, ROLLBACK))?.state).toBe('awaiting_approval');
  });

  it('without slack.approvers anyone may approve, and the start warns about it once', async () => {
    const open = recordingLogger();
    const { url, id } = await setup({ slackSigningSecret: SECRET, logger: open.logger });
    const warnings = open.lines.filter((l) => l.level === 40 && /SLACK_APPROVERS/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/any member of the Slack workspace can approve/);
    const res = await send(url, clicked('approve', slackActionValue(id, ROLLBACK), OUTSIDER));
    expect(res.json.text).toMatch(/^Approved by <@U024BE7LH>/);
    expect((await stepOf(id, ROLLBACK))?.by).toBe('slack:U024BE7LH (alice)');

    const listed = recordingLogger();
    const approvers = [APPROVER.id];
    servers.push(
      await startApi(pipeline!, [slackRoutes], {
        slackSigningSecret: SECRET,
        slackApprovers: approvers,
        logger: listed.logger,
      }),
    );
    expect(listed.lines.filter((l) => /SLACK_APPROVERS/.test(l.msg))).toEqual([]);
  });
});

/** A logger whose lines the test reads. */
function recordingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}
