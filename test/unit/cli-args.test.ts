import { describe, expect, it } from 'vitest';
import { apiTarget, expectArgs, listQuery, parseLabels } from '../../src/cli/args.ts';
import { main } from '../../src/cli/main.ts';
import { SseParser } from '../../src/cli/sse.ts';

describe('SseParser', () => {
  it.each([
    {
      name: 'id, event and data; the retry and comments are not events',
      chunks: ['retry: 2000\n\n: ping\n\nid: 1-0\nevent: note\ndata: {"a":1}\n\n'],
      events: [{ id: '1-0', event: 'note', data: '{"a":1}' }],
      retryMs: 2000,
    },
    {
      name: 'an event split anywhere, even inside CRLF',
      chunks: ['id: 5-1\r', '\nevent: no', 'te\r\ndata: x\r', '\n\r', '\n'],
      events: [{ id: '5-1', event: 'note', data: 'x' }],
    },
    {
      name: 'multi-line data joined with \\n, no space after the colon, default event name',
      chunks: ['data:a\ndata: b\n\n'],
      events: [{ id: undefined, event: 'message', data: 'a\nb' }],
    },
    {
      name: 'the id carries over to later events; a frame without data dispatches nothing',
      chunks: ['id: 7-0\n\ndata: y\n\n'],
      events: [{ id: '7-0', event: 'message', data: 'y' }],
    },
    {
      name: 'a half-received event waits for its blank line',
      chunks: ['data: z\n'],
      events: [],
    },
    {
      name: 'a BOM at the start is skipped; CR alone ends lines',
      chunks: ['\uFEFFdata: w\r\r'],
      events: [{ id: undefined, event: 'message', data: 'w' }],
    },
  ])('$name', ({ chunks, events, retryMs }) => {
    const parser = new SseParser();
    const seen = chunks.flatMap((c) => parser.feed(c));
    expect({ seen, retryMs: parser.retryMs }).toEqual({ seen: events, retryMs });
  });

  it('reset drops a half-received event but keeps the last id for the reconnect', () => {
    const parser = new SseParser('1-0');
    parser.feed('id: 2-0\ndata: complete\n\nid: 3-0\ndata: half');
    parser.reset();
    expect({ events: parser.feed('data: next\n\n'), last: parser.lastEventId }).toEqual({
      events: [{ id: '3-0', event: 'message', data: 'next' }],
      last: '3-0',
    });
  });
});

describe('command-line parsing', () => {
  it.each([
    { list: [], labels: {} },
    { list: ['namespace=prod', 'pod=a=b'], labels: { namespace: 'prod', pod: 'a=b' } },
    { list: ['empty='], labels: { empty: '' } },
    { list: ['novalue'], error: "--label must be name=value with a Prometheus label name; got 'novalue'" },
    { list: ['1x=y'], error: "got '1x=y'" },
    { list: ['a=1', 'a=2'], error: '--label a is given twice' },
  ])('parseLabels $list', ({ list, labels, error }) => {
    if (error) expect(() => parseLabels(list)).toThrow(error);
    else expect(parseLabels(list)).toEqual(labels);
  });

  it.each([
    { values: {}, query: '' },
    { values: { open: true, limit: '20' }, query: '?open=true&limit=20' },
    {
      values: { status: 'resolved', service: 'pay ment', severity: 'P1', runbook: 'db' },
      query: '?status=resolved&service=pay+ment&severity=P1&runbook=db',
    },
    { values: { limit: '0' }, error: "--limit must be a whole number from 1 to 200; got '0'" },
    { values: { limit: '201' }, error: "got '201'" },
    { values: { limit: '2x' }, error: "got '2x'" },
  ])('listQuery $values', ({ values, query, error }) => {
    if (error) expect(() => listQuery(values)).toThrow(error);
    else expect(listQuery(values)).toBe(query);
  });

  it.each([
    { args: ['a', 'b'], names: ['<incident>', '<step>'], got: ['a', 'b'] },
    { args: [], names: ['[incident]'], got: [undefined] },
    { args: ['a'], names: ['<incident>', '<step>'], error: 'missing <step>' },
    { args: ['a', 'b'], names: ['<incident>'], error: "unexpected argument 'b' (expected <incident>)" },
  ])('expectArgs $args $names', ({ args, names, got, error }) => {
    if (error) expect(() => expectArgs(args, names)).toThrow(error);
    else expect(expectArgs(args, names)).toEqual(got);
  });

  it.each([
    { values: {}, env: {}, target: { url: 'http://127.0.0.1:3000' } },
    {
      values: {},
      env: { FIRELINE_URL: 'https://fl.example', FIRELINE_TOKEN: 'tok' },
      target: { url: 'https://fl.example', token: 'tok' },
    },
    {
      values: { url: 'http://h:1', token: 'flag' },
      env: { FIRELINE_URL: 'https://fl.example', FIRELINE_TOKEN: 'env' },
      target: { url: 'http://h:1', token: 'flag' },
    },
    { values: { url: 'localhost:3000' }, env: {}, error: "got 'localhost:3000'" },
    { values: { url: 'not a url' }, env: {}, error: '--url must be an http(s) URL' },
    { values: { url: 'http://u:secret@h' }, env: {}, error: '--url must not carry credentials' },
  ])('apiTarget $values $env', ({ values, env, target, error }) => {
    if (error) expect(() => apiTarget(values, env)).toThrow(error);
    else expect(apiTarget(values, env)).toEqual(target);
  });
});

describe('API commands: bad command lines exit 2 before any request', () => {
  it.each([
    { argv: ['approve', 'inc-1'], says: 'fireline approve: missing <step>' },
    {
      argv: ['ack', 'inc-1', 'extra'],
      says: "fireline ack: unexpected argument 'extra' (expected <incident>)",
    },
    { argv: ['trigger', 'db', '--label', 'oops'], says: "got 'oops'" },
    { argv: ['trigger'], says: 'fireline trigger: missing <runbook>' },
    {
      argv: ['incidents', 'bogus'],
      says: "unknown subcommand 'bogus' (expected list, show <id> or report <id>)",
    },
    { argv: ['incidents', 'show'], says: 'fireline incidents: missing <id>' },
    { argv: ['incidents', 'show', 'inc-1', '--open'], says: "--open applies to 'incidents list' only" },
    {
      argv: ['incidents', '--limit', '500'],
      says: "--limit must be a whole number from 1 to 200; got '500'",
    },
    { argv: ['incidents', '--status', 'gone'], says: '--status must be one of triggered, diagnosing' },
    { argv: ['remediations', 'stop'], says: "expected pause, resume or status; got 'stop'" },
    {
      argv: ['watch', '--url', 'ftp://x'],
      says: "--url must be an http(s) URL such as http://127.0.0.1:3000; got 'ftp://x'",
    },
  ])('fireline $argv', async ({ argv, says }) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
    });
    expect({ code, stdout, says: stderr.includes(says) }, stderr).toEqual({
      code: 2,
      stdout: '',
      says: true,
    });
  });
});
