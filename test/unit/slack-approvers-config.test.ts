import { describe, expect, it } from 'vitest';
import { parseConnections } from '../../src/adapters/connections.ts';
import { ConfigError } from '../../src/errors.ts';

describe('slack.approvers / SLACK_APPROVERS', () => {
  it('reads a comma-separated SLACK_APPROVERS, trimmed, without empties or repeats; absent when unset', () => {
    const c = parseConnections({ SLACK_APPROVERS: ' U012AB3CD, W0ABCDEF1,,U012AB3CD ' });
    expect(c.slack.approvers).toEqual(['U012AB3CD', 'W0ABCDEF1']);
    // Not configured: absent (anyone in the workspace may approve; the API warns at start).
    expect(parseConnections({}).slack.approvers).toBeUndefined();
    expect(
      parseConnections({ SLACK_SIGNING_SECRET: 'x', SLACK_APPROVERS: '' }).slack.approvers,
    ).toBeUndefined();
  });

  it('reads a list (or a comma-separated string) from fireline.yaml, which wins over the environment', () => {
    const yaml = 'slack:\n  signingSecret: s\n  approvers: [U0AAAAAAA, U0BBBBBBB]\n';
    expect(parseConnections({ SLACK_APPROVERS: 'U0CCCCCCC' }, yaml).slack).toMatchObject({
      signingSecret: 's',
      approvers: ['U0AAAAAAA', 'U0BBBBBBB'],
    });
    const text = 'slack:\n  approvers: "U0AAAAAAA,U0BBBBBBB"\n';
    expect(parseConnections({}, text).slack.approvers).toEqual(['U0AAAAAAA', 'U0BBBBBBB']);
    expect(parseConnections({}, 'slack:\n  approvers: []\n').slack.approvers).toEqual([]);
  });

  it('refuses a user-group id: a click names only the user, and group membership is not checked', () => {
    const read = () => parseConnections({ SLACK_APPROVERS: 'U012AB3CD,S0614TZR7' });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(/slack\.approvers\.1: 'S0614TZR7' is a Slack user-group id/);
    expect(() => parseConnections({ SLACK_APPROVERS: 'alice' })).toThrow(
      /'alice' is not a Slack user id \(U… or W…\)/,
    );
  });
});
