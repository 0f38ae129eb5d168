import { describe, expect, it } from 'vitest';
import { slackSignature, verifySlackSignature } from '../../src/producer/slack-signature.ts';

// Slack's published example ("Verifying requests from Slack").
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TIMESTAMP = '1531420618';
const BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const EXPECTED = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const AT_SIGNING = new Date(Number(TIMESTAMP) * 1000);

describe('Slack request signatures', () => {
  it("computes Slack's published test vector", () => {
    expect(slackSignature(SECRET, TIMESTAMP, BODY)).toBe(EXPECTED);
    expect(slackSignature(SECRET, TIMESTAMP, Buffer.from(BODY))).toBe(EXPECTED);
  });

  const cases: {
    name: string;
    signature?: string;
    timestamp?: string;
    body?: string;
    secret?: string;
    nowSeconds?: number;
    reason: RegExp | null;
  }[] = [
    { name: 'the published request', reason: null },
    { name: '299 s later', nowSeconds: Number(TIMESTAMP) + 299, reason: null },
    { name: '299 s earlier (clock skew)', nowSeconds: Number(TIMESTAMP) - 299, reason: null },
    { name: 'a tampered body', body: BODY.replace('roadrunner', 'coyote'), reason: /does not match/ },
    { name: 'another secret', secret: `${SECRET}x`, reason: /does not match/ },
    { name: 'a truncated signature', signature: EXPECTED.slice(0, -2), reason: /does not match/ },
    { name: 'no v0= scheme', signature: EXPECTED.slice(3), reason: /does not match/ },
    { name: 'a timestamp 301 s old', nowSeconds: Number(TIMESTAMP) + 301, reason: /more than 300 s/ },
    { name: 'a timestamp from the future', nowSeconds: Number(TIMESTAMP) - 301, reason: /more than 300 s/ },
    {
      name: 'the signature replayed with another timestamp',
      timestamp: '1531420600',
      reason: /does not match/,
    },
    { name: 'no signature header', signature: '', reason: /required/ },
    { name: 'no timestamp header', timestamp: '', reason: /required/ },
    { name: 'a timestamp that is not a number', timestamp: '1531420618.5', reason: /Unix seconds/ },
  ];

  it.each(cases)('$name', (c) => {
    const now = c.nowSeconds === undefined ? AT_SIGNING : new Date(c.nowSeconds * 1000);
    const timestamp = c.timestamp ?? TIMESTAMP;
    const result = verifySlackSignature(
      c.secret ?? SECRET,
      { signature: c.signature ?? EXPECTED, timestamp, rawBody: c.body ?? BODY },
      now,
    );
    if (c.reason === null) expect(result).toEqual({ ok: true });
    else {
      expect(result.ok, `expected a refusal, saw ${JSON.stringify(result)}`).toBe(false);
      expect(result.ok ? '' : result.reason).toMatch(c.reason);
    }
  });
});
