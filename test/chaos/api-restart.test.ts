import { afterEach, describe, expect, inject, it } from 'vitest';
import type { FirelineProcess } from '../../scripts/harness/fireline-process.ts';
import { freePort } from '../../scripts/harness/redis-server.ts';
import { createApiClient } from '../../src/cli/client.ts';
import { followEvents, type SseEvent } from '../../src/cli/sse.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { LATENCY_RUNBOOK, TOKENS } from '../helpers/alert-webhooks.ts';
import { firingAlert, testPipeline } from '../helpers/pipeline.ts';
import { killAll, type Scratch, scratchDir, startRole } from './helpers.ts';

const redisUrl = inject('redisUrl');
const RESTARTS = 2;
const NOTES = 5;

describe('chaos (d): the API process restarted under a live SSE client', () => {
  const procs: FirelineProcess[] = [];
  let pipeline: Pipeline | undefined;
  let scratch: Scratch | undefined;
  let abort: AbortController | undefined;
  afterEach(async () => {
    abort?.abort();
    await killAll(procs);
    await pipeline?.close(5000);
    pipeline = undefined;
    scratch?.remove();
    scratch = undefined;
  });

  it('the client resumes with Last-Event-ID and gets every event once, those appended while it was down too', async () => {
    // The incident and its events come from this process; the API process only serves them.
    pipeline = await testPipeline(redisUrl, [LATENCY_RUNBOOK]);
    const p = pipeline;
    const [opened] = await p.intake(firingAlert({ alertname: 'PaymentServiceHighLatency' }));
    if (opened?.outcome !== 'opened')
      throw new Error(`expected a new incident, got ${JSON.stringify(opened)}`);
    const id = opened.incidentId;
    scratch = scratchDir('chaos-api', () => ({ 'latency.yaml': LATENCY_RUNBOOK }));
    const port = await freePort();
    const env = {
      REDIS_URL: redisUrl,
      FIRELINE_PREFIX: p.deps.queues.prefix,
      FIRELINE_RUNBOOKS: scratch.runbooks,
      HOST: '127.0.0.1',
      PORT: String(port),
      FIRELINE_INGEST_TOKEN: TOKENS.ingest,
      FIRELINE_OPERATOR_TOKEN: TOKENS.operator,
      FIRELINE_VIEWER_TOKEN: TOKENS.viewer,
    };
    let api = await startRole('api', env, procs);

    let notes = 0;
    const appendNotes = (phase: string) =>
      Promise.all(
        Array.from({ length: NOTES }, () =>
          p.deps.store.appendEvent(id, { type: 'note', actor: 'chaos', message: `${phase} ${++notes}` }),
        ),
      );

    // The CLI's follower (`fireline incidents watch`): it reconnects with Last-Event-ID by itself.
    const received: SseEvent[] = [];
    const reconnects: string[] = [];
    const waiters = new Set<() => void>();
    abort = new AbortController();
    const following = followEvents(
      createApiClient({ url: `http://127.0.0.1:${port}`, token: TOKENS.viewer }),
      `/api/v1/incidents/${id}/events`,
      {
        signal: abort.signal,
        onEvent: (event) => {
          received.push(event);
          for (const w of waiters) w();
          return false;
        },
        onReconnect: (reason) => {
          reconnects.push(reason);
        },
      },
    );
    /** Resolves once the client has as many events as the store's timeline holds. */
    const caughtUp = async (what: string, timeoutMs = 30_000) => {
      const want = (await p.deps.store.timeline(id)).length;
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (received.length < want) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${what}: the client has ${received.length} of ${want} events`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    };

    await appendNotes('before');
    await caughtUp('before the first restart');
    for (let r = 1; r <= RESTARTS; r++) {
      // Some events land while the API shuts down, the rest while it is away.
      api.child.kill('SIGTERM');
      const [code] = await Promise.all([api.exited, appendNotes('stopping')]);
      expect(code, 'the API process exits 0 on SIGTERM').toBe(0);
      await appendNotes('down');
      api = await startRole('api', env, procs);
      await appendNotes('up again');
      await caughtUp(`after restart ${r}`);
    }
    abort.abort();
    expect(await following).toBe('aborted');

    const timeline = await p.deps.store.timeline(id);
    expect(received.map((e) => e.id)).toEqual(timeline.map((e) => e.id));
    expect(received.map((e) => e.event)).toEqual(timeline.map((e) => e.type));
    expect(received.map((e) => JSON.parse(e.data).message)).toEqual(timeline.map((e) => e.message));
    expect(notes).toBe(NOTES * (1 + 3 * RESTARTS));
    expect(reconnects.length, 'reconnections of the client').toBeGreaterThanOrEqual(RESTARTS);
  });
});
