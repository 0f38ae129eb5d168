import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SlackBlock, SlackMessage } from '../../src/adapters/notifiers/slack-blocks.ts';

/**
 * Stands in for a Slack incoming webhook: takes what Fireline posts, answers 200 `ok` as Slack
 * does, and hands each message over as readable text lines (Block Kit flattened: header, context,
 * sections, buttons as their labels and links).
 */

/** Slack's own escaping, link syntax and emphasis marks, undone for a terminal. */
function readable(mrkdwn: string): string {
  return mrkdwn
    .replace(/\*([^*\n]+)\*/g, '$1')
    .replace(/(^|\s)_([^_\n]+)_(?=\s|$)/g, '$1$2')
    .replaceAll('`', '')
    .replace(/<([^|>]+)\|([^>]+)>/g, '$2 ($1)')
    .replace(/<([^>]+)>/g, '$1')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

function blockLines(block: SlackBlock): string[] {
  switch (block.type) {
    case 'header':
      return [block.text.text.toUpperCase()];
    case 'context':
      return block.elements.map((e) => readable(e.text));
    case 'section':
      return readable(block.text.text).split('\n');
    case 'actions':
      return [block.elements.map((b) => `[ ${b.text.text} ]${b.url ? ` ${b.url}` : ''}`).join('  ')];
    case 'image':
      return [`[chart: ${block.title.text}] ${block.image_url}`];
  }
}

/** The message as lines of text, one block after another. */
export function formatSlackMessage(message: SlackMessage): string[] {
  if (!Array.isArray(message.blocks) || message.blocks.length === 0) return [readable(message.text)];
  return message.blocks.flatMap(blockLines);
}

export interface SlackSink {
  url: string;
  close(): Promise<void>;
}

/** Starts the sink on a free loopback port; `onMessage` gets each posted message's lines. */
export async function startSlackSink(onMessage: (lines: string[]) => void): Promise<SlackSink> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let message: SlackMessage;
      try {
        message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SlackMessage;
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_payload');
        return;
      }
      onMessage(formatSlackMessage(message));
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/demo`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
