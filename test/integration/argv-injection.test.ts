import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');
const dir = mkdtempSync(join(tmpdir(), 'fireline-argv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A diagnostic whose command appends the alert's `pattern` label to `marker`, one line per run. */
function runbook(marker: string) {
  return `
id: log-pattern
name: Log pattern
severity: P3
service: logs
triggers:
  - type: alert
    alertName: LogPattern
diagnostics:
  - id: grep_logs
    name: Grep the logs
    type: shell_command
    timeout: 10
    config:
      command: [sh, -c, 'printf "%s\\n" "$2" >> "$1"', sh, "${marker}", "{{ alert.labels.pattern }}"]
    interpret:
      healthy: "exit_code == 0"
      critical: "exit_code != 0"
decisionTree: []
remediations: []
escalation:
  primary: "#ops"
`;
}

describe('issue 12: an alert value never becomes an option of a command', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close(5000);
    pipeline = undefined;
  });

  /** Opens an incident for `pattern` and returns its verdict once the diagnostic finished. */
  async function diagnose(p: Pipeline, pattern: string) {
    const [outcome] = await p.intake(firingAlert({ alertname: 'LogPattern', pattern }));
    expect(outcome).toMatchObject({ outcome: 'opened', runbookId: 'log-pattern' });
    const incidentId = (outcome as { incidentId: string }).incidentId;
    await eventsUntil(p, incidentId, (e) => e.type === 'diagnostic.finished');
    return (await p.deps.store.get(incidentId))?.verdicts.grep_logs;
  }

  it('a label rendering to "--something" is an error verdict with the reason, and the command never runs', async () => {
    const marker = join(dir, 'ran.log');
    pipeline = await testPipeline(redisUrl, [runbook(marker)]);
    await pipeline.startWorkers(FAST_WORKERS, ['triggers', 'diagnostics', 'decisions']);

    const refused = await diagnose(pipeline, '--something');
    expect(refused).toMatchObject({ status: 'error' });
    expect(refused?.message).toContain('config.command.5');
    expect(refused?.message).toContain('alert.labels.pattern');
    expect(refused?.message).toContain('"--something"');
    expect(refused?.message).toContain('option');
    expect(existsSync(marker), 'the command ran').toBe(false);

    // The same step with a plain value runs: it was the value, not the runbook, that was refused.
    const ran = await diagnose(pipeline, 'timeout');
    expect(ran).toMatchObject({ status: 'healthy' });
    expect(readFileSync(marker, 'utf8')).toBe('timeout\n');
  });
});
