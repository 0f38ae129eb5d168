import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack refuses (and so do we) requests signed more than five minutes away from now. */
export const SLACK_MAX_SKEW_SECONDS = 300;

/** What a Slack request carries for verification: the two headers and the raw body bytes. */
export interface SlackSignedRequest {
  /** `X-Slack-Signature`: `v0=<hex HMAC-SHA256>`. */
  signature: string | undefined;
  /** `X-Slack-Request-Timestamp`: Unix seconds. */
  timestamp: string | undefined;
  /** The body exactly as received (form-encoded), before any parsing. */
  rawBody: Buffer | string;
}

/** Why a request was refused, in words for the 401 detail. */
export type SlackVerification = { ok: true } | { ok: false; reason: string };

/** `v0=` + hex HMAC-SHA256(secret, `v0:<timestamp>:<body>`), Slack's signature scheme. */
export function slackSignature(secret: string, timestamp: string, rawBody: Buffer | string): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(rawBody);
  return `v0=${hmac.digest('hex')}`;
}

/**
 * Verifies a Slack request: the timestamp is within five minutes of `now` (replays of old signed
 * requests are refused) and the signature matches, compared in constant time.
 */
export function verifySlackSignature(secret: string, req: SlackSignedRequest, now: Date): SlackVerification {
  if (!req.signature || !req.timestamp)
    return { ok: false, reason: 'X-Slack-Signature and X-Slack-Request-Timestamp are required' };
  if (!/^\d{1,12}$/.test(req.timestamp))
    return { ok: false, reason: 'X-Slack-Request-Timestamp is not Unix seconds' };
  const skew = Math.abs(now.getTime() / 1000 - Number(req.timestamp));
  if (skew > SLACK_MAX_SKEW_SECONDS)
    return { ok: false, reason: `the request timestamp is more than ${SLACK_MAX_SKEW_SECONDS} s from now` };
  const expected = Buffer.from(slackSignature(secret, req.timestamp, req.rawBody));
  const given = Buffer.from(req.signature);
  // timingSafeEqual needs equal lengths; a length mismatch reveals only the scheme's fixed length.
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'the Slack signature does not match' };
  return { ok: true };
}
