import { describe, expect, it } from 'vitest';
import { AdapterError, InvariantError } from '../../src/errors.ts';
import { createLogger, logFormatFor } from '../../src/logger.ts';

/** A pretty logger (no colour) writing into an array of output chunks. */
function pretty() {
  const out: string[] = [];
  const logger = createLogger({
    level: 'debug',
    format: 'pretty',
    color: false,
    destination: { write: (c: string) => out.push(c) },
  });
  return { logger, out };
}

describe('pretty log lines', () => {
  it('are one line: time, level, message, then the fields', () => {
    const { logger, out } = pretty();
    logger.child({ incidentId: 'inc-1' }).info({ jobId: '7', queues: ['a', 'b'] }, 'job done');
    expect(out).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d INFO {2}job done {2}incidentId=inc-1 jobId=7 queues=a,b\n$/),
    ]);
  });

  it.each([
    ['an AdapterError (a known operational failure)', new AdapterError('prometheus', 'not configured')],
    [
      'a system error with a code',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    ],
  ])('show %s as its message, without a stack', (_, err) => {
    const { logger, out } = pretty();
    logger.warn({ err }, 'poll failed');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(new RegExp(`WARN  poll failed: ${err.message.replace(/[()]/g, '\\$&')}\\n$`));
    expect(out[0]?.split('\n')).toHaveLength(2);
  });

  it.each([
    ['a TypeError', new TypeError('x is undefined')],
    ['an InvariantError', new InvariantError('a job names a missing step')],
  ])('show the stack of %s: a bug', (_, err) => {
    const { logger, out } = pretty();
    logger.error({ err }, 'job failed');
    const lines = out[0]?.trimEnd().split('\n') ?? [];
    expect(lines[0]).toMatch(/ERROR job failed: /);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(1).every((l) => l.startsWith('    at '))).toBe(true);
  });

  it('escape control characters from untrusted text', () => {
    const { logger, out } = pretty();
    logger.info({ label: 'a\u001b[2Jb' }, 'alert \u001b]0;title\u0007 in');
    expect(out[0]).not.toContain('\u001b');
    expect(out[0]).not.toContain('\u0007');
    expect(out[0]).toContain('\\x1b');
    expect(out[0]?.split('\n')).toHaveLength(2);
  });
});

describe('FIRELINE_LOG_FORMAT', () => {
  it.each([
    ['auto', true, 'pretty'],
    ['auto', false, 'json'],
    ['json', true, 'json'],
    ['pretty', false, 'pretty'],
  ] as const)('%s with a terminal: %s → %s', (setting, tty, format) => {
    expect(logFormatFor(setting, tty)).toBe(format);
  });

  it('json stays one JSON object a line, the stack included', () => {
    const out: string[] = [];
    const logger = createLogger({
      level: 'info',
      format: 'json',
      destination: { write: (c: string) => out.push(c) },
    });
    logger.warn({ err: new AdapterError('prometheus', 'down') }, 'poll failed');
    expect(JSON.parse(out[0] ?? '')).toMatchObject({
      level: 40,
      msg: 'poll failed',
      err: { code: 'ADAPTER_FAILED' },
    });
  });
});
