import { describe, expect, it } from 'vitest';
import { formatSlackMessage } from '../../scripts/demo/slack-sink.ts';
import type { SlackMessage } from '../../src/adapters/notifiers/slack-blocks.ts';
import { main } from '../../src/cli/main.ts';

describe('npm run demo: its runbook', () => {
  it('lints clean and its tests pass (a schema change that breaks the demo fails here)', async () => {
    let stdout = '';
    const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: process.stderr };
    const codes = {
      lint: await main(['lint', 'demo/runbooks'], io),
      test: await main(['test', 'demo/runbooks'], io),
    };
    expect(codes, stdout).toEqual({ lint: 0, test: 0 });
  });
});

describe('npm run demo: the Slack stand-in prints Block Kit as text', () => {
  it.each<{ name: string; message: SlackMessage; lines: string[] }>([
    {
      name: 'header upper-cased, emphasis and escapes undone, links and buttons spelled out',
      message: {
        text: 'Incident opened: x',
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: 'P1 payments: High latency', emoji: true } },
          {
            type: 'context',
            elements: [{ type: 'mrkdwn', text: '*Incident opened* · `inc-1`', verbatim: true }],
          },
          {
            type: 'section',
            text: {
              type: 'mrkdwn',
              text: 'p99 &gt; 2 s &amp; _rising_\nsee <http://x/1|the graph>',
              verbatim: true,
            },
          },
          {
            type: 'actions',
            elements: [
              {
                type: 'button',
                text: { type: 'plain_text', text: 'Open incident', emoji: true },
                url: 'http://127.0.0.1:3000/incidents/inc-1',
                action_id: 'open_incident',
              },
            ],
          },
        ],
      },
      lines: [
        'P1 PAYMENTS: HIGH LATENCY',
        'Incident opened · inc-1',
        'p99 > 2 s & rising',
        'see the graph (http://x/1)',
        '[ Open incident ] http://127.0.0.1:3000/incidents/inc-1',
      ],
    },
    {
      name: 'no blocks: the fallback text',
      message: { text: 'Resolved: a &lt;b&gt;', blocks: [] },
      lines: ['Resolved: a <b>'],
    },
  ])('$name', ({ message, lines }) => {
    expect(formatSlackMessage(message)).toEqual(lines);
  });
});
