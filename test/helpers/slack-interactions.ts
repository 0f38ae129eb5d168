import { slackSignature } from '../../src/producer/slack-signature.ts';

/** A block_actions payload as Slack sends it when `user` clicks one button. */
export function slackClick(
  actionId: string,
  value: string,
  responseUrl: string,
  user: { id: string; username?: string } = { id: 'U024BE7LH', username: 'alice' },
) {
  return {
    type: 'block_actions',
    user: { ...user, team_id: 'T0001' },
    team: { id: 'T0001', domain: 'acme' },
    // A local receiver stands in for Slack's response_url (Slack's servers cannot be reached here).
    response_url: responseUrl,
    actions: [{ type: 'button', action_id: actionId, block_id: 'approval', value, action_ts: '1.2' }],
  };
}

/**
 * Posts `payload` to the interactivity endpoint form-encoded and signed with `secret` at
 * `timestamp` (Unix seconds, default now), as Slack does.
 */
export async function postSlackInteraction(
  url: string,
  payload: unknown,
  secret: string,
  opts: { timestamp?: number; contentType?: string } = {},
) {
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const res = await fetch(`${url}/api/v1/slack/interactions`, {
    method: 'POST',
    headers: {
      'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': slackSignature(secret, timestamp, body),
    },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null };
}
