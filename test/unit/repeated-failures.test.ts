import { describe, expect, it } from 'vitest';
import { AdapterError } from '../../src/errors.ts';
import { createRepeatedFailures } from '../../src/incidents/repeated-failures.ts';
import { createLogger } from '../../src/logger.ts';

/** A real pino logger writing JSON lines into an array, and a clock the test moves. */
function setup() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (l: string) => lines.push(JSON.parse(l)) },
  });
  let nowMs = Date.parse('2026-12-07T10:00:00Z');
  const failures = createRepeatedFailures({
    logger,
    what: 'metric_threshold poll',
    now: () => new Date(nowMs),
    summaryMs: 60_000,
  });
  return { lines, failures, advance: (ms: number) => (nowMs += ms) };
}

const gap = new AdapterError('prometheus', 'prometheus is not configured (set PROMETHEUS_URL)');

describe('a failure that repeats every poll', () => {
  it('is said once for every source, then counted once per summary period', () => {
    const { lines, failures, advance } = setup();
    for (let poll = 0; poll < 10; poll++) {
      failures.failed('threshold-a-0', gap, { runbookId: 'a' });
      failures.failed('threshold-b-0', gap, { runbookId: 'b' });
      advance(5_000);
    }
    expect(lines.map((l) => l.msg)).toEqual(['metric_threshold poll failed']);
    expect(lines[0]).toMatchObject({
      level: 40,
      runbookId: 'a',
      err: { message: gap.message },
      repeats: 'counted, logged every 1 min',
    });
    advance(15_000);
    failures.failed('threshold-a-0', gap, { runbookId: 'a' });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({
      level: 40,
      msg: `metric_threshold poll still failing: ${gap.message}`,
      failures: 20,
      total: 21,
      sources: ['threshold-a-0', 'threshold-b-0'],
    });
    expect(lines[1]).not.toHaveProperty('err');
  });

  it('says when every source that failed works again, and says a new failure again', () => {
    const { lines, failures } = setup();
    failures.failed('threshold-a-0', gap, {});
    failures.failed('threshold-b-0', gap, {});
    failures.worked('threshold-a-0');
    expect(lines).toHaveLength(1);
    failures.worked('threshold-b-0');
    expect(lines[1]).toMatchObject({
      level: 30,
      total: 2,
      msg: `metric_threshold poll works again (was: ${gap.message})`,
    });
    failures.failed('threshold-a-0', gap, {});
    expect(lines).toHaveLength(3);
    expect(lines[2]?.level).toBe(40);
  });

  it('keeps different failures apart', () => {
    const { lines, failures } = setup();
    failures.failed('threshold-a-0', gap, {});
    failures.failed(
      'threshold-a-0',
      new AdapterError('prometheus', 'HTTP 503: unavailable', { retryable: true }),
      {},
    );
    expect(lines.map((l) => (l.err as { message: string }).message)).toEqual([
      gap.message,
      'prometheus: HTTP 503: unavailable',
    ]);
  });
});
