import { Writable } from 'node:stream';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { alertRoutes } from '../../src/producer/routes/alerts.ts';
import {
  AUTH,
  alertApiPerTest,
  INGEST,
  LATENCY_RUNBOOK,
  latencyGroup,
  postJson,
} from '../helpers/alert-webhooks.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');

/** Log lines (pino JSON) written while a test runs. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('an alert no runbook takes', () => {
  const api = alertApiPerTest(redisUrl);

  it('is said once per alert name, naming the runbooks whose trigger names it but whose matchers did not hold', async () => {
    const { lines, logger } = capturedLogger();
    const { alertmanager } = await api({ logger });
    const other = latencyGroup(['pod-1']);
    for (const a of other.alerts) a.labels.alertname = 'DiskFull';
    other.groupLabels.alertname = other.commonLabels.alertname = 'DiskFull';
    for (let i = 0; i < 3; i++) expect((await postJson(alertmanager, other, INGEST)).status).toBe(202);
    const said = lines.filter((l) => String(l.msg).includes('matched no runbook'));
    expect(said.map((l) => l.msg)).toEqual(['alert DiskFull matched no runbook (said once per alert name)']);
  });

  let pipeline: Pipeline | undefined;
  let server: ApiServer | undefined;
  afterEach(async () => {
    await server?.close();
    await pipeline?.close(5000);
    server = pipeline = undefined;
  });

  it('names the runbook whose trigger names the alert when its matchers did not hold', async () => {
    const { lines, logger } = capturedLogger();
    const withMatchers = LATENCY_RUNBOOK.replace(
      'alertName: PaymentServiceHighLatency',
      'alertName: PaymentServiceHighLatency\n    matchers: [namespace="production"]',
    );
    pipeline = await testPipeline(redisUrl, [withMatchers]);
    server = await startApi(pipeline, [alertRoutes], { auth: AUTH, logger });
    const res = await postJson(`${server.url}/api/v1/alerts/alertmanager`, latencyGroup(['pod-1']), INGEST);
    expect(res.body.results[0].outcomes).toEqual([{ outcome: 'no_runbook' }]);
    const said = lines.filter((l) => String(l.msg).includes('matched no runbook'));
    expect(said.map((l) => [l.msg, l.runbooks])).toEqual([
      [
        "alert PaymentServiceHighLatency matched no runbook: payment-latency name it, but the trigger's matchers did not hold (said once per alert name)",
        ['payment-latency'],
      ],
    ]);
  });
});
