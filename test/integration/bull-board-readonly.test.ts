import { randomUUID } from 'node:crypto';
import { type Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { bullBoardRoutes } from '../../src/producer/routes/bull-board.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');

const OPERATOR = 'operator-secret-readonly';

/** Everything Bull Board could change on a queue: its jobs, their states and data, and its limits. */
async function snapshot(queue: Queue) {
  const jobs = await queue.getJobs(['waiting', 'delayed', 'failed', 'completed', 'active', 'prioritized']);
  const states = await Promise.all(
    jobs.map(async (j) => [j.id, await j.getState(), JSON.stringify(j.data), j.opts.priority ?? 0]),
  );
  const meta = await queue.getMeta();
  return {
    counts: await queue.getJobCounts(),
    jobs: states.sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    paused: await queue.isPaused(),
    concurrency: meta.concurrency ?? null,
    rateLimit: [meta.max ?? null, meta.duration ?? null],
  };
}

describe('Bull Board on the remediations queue', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await api?.close();
    await pipeline?.close(5000);
    api = pipeline = undefined;
  });

  /** A remediations queue holding a failed, a delayed and a waiting job, with Fireline's limits set. */
  async function setup() {
    pipeline = await testPipeline(redisUrl, []);
    api = await startApi(pipeline, [bullBoardRoutes], { auth: { operatorToken: OPERATOR } });
    const queue = pipeline.deps.queues.byName.remediations;
    await queue.setGlobalConcurrency(2);
    await queue.setGlobalRateLimit(30, 60_000);
    const data = { incidentId: 'inc-board', stepId: 'fix' };
    const failed = await queue.add('remediate', data, { jobId: `failed-${randomUUID()}`, attempts: 1 });
    // A real worker takes the job and fails it, so the queue holds a genuinely failed job.
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const worker = new Worker(queue.name, null, { connection, prefix: pipeline.deps.queues.prefix });
    closers.push(() => connection.quit());
    const token = randomUUID();
    const taken = await worker.getNextJob(token);
    expect(taken?.id).toBe(failed.id);
    await taken!.moveToFailed(new Error('the action failed'), token, false);
    await worker.close();
    const delayed = await queue.add('remediate', data, {
      jobId: `delayed-${randomUUID()}`,
      delay: 3_600_000,
    });
    const waiting = await queue.add('remediate', data, { jobId: `waiting-${randomUUID()}` });
    return { queue, ids: { failed: failed.id!, delayed: delayed.id!, waiting: waiting.id! } };
  }

  /** A request as the board's page sends it: JSON, with the operator token. */
  const board = (method: string, path: string, body?: unknown) =>
    fetch(`${api!.url}/admin/queues/api${path}`, {
      method,
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
    });

  it('refuses every mutation of the remediations queue over HTTP, and the queue is unchanged', async () => {
    const { queue, ids } = await setup();
    const before = await snapshot(queue);
    expect(before.counts).toMatchObject({ failed: 1, delayed: 1, waiting: 1 });
    expect(before.concurrency).toBe(2);
    expect(before.rateLimit).toEqual([30, 60_000]);

    const q = '/queues/remediations';
    // Jobs first, then the queue as a whole; emptying and obliterating last.
    const mutations: [string, string, unknown?][] = [
      ['PUT', `${q}/${ids.failed}/retry`],
      ['PUT', `${q}/${ids.delayed}/promote`],
      ['PATCH', `${q}/${ids.delayed}/delay`, { runAt: Date.now() }],
      ['PATCH', `${q}/${ids.waiting}/priority`, { priority: 1 }],
      ['PATCH', `${q}/${ids.waiting}/update-data`, { jobData: { incidentId: 'other', stepId: 'other' } }],
      ['PUT', `${q}/${ids.waiting}/remove-unprocessed-children`],
      ['PUT', `${q}/${ids.failed}/clean`],
      ['PUT', `${q}/retry/failed`],
      ['PUT', `${q}/retry/completed`],
      ['PUT', `${q}/promote`],
      ['POST', `${q}/add`, { name: 'remediate', data: { incidentId: 'x', stepId: 'y' } }],
      ['PUT', `${q}/concurrency`, { concurrency: 1000 }],
      ['PUT', `${q}/rate-limit`, { max: null }],
      ['PUT', `${q}/rate-limit`, { max: 100000, duration: 1000 }],
      ['PUT', `${q}/rate-limit/release`],
      ['PUT', `${q}/pause`],
      ['PUT', `${q}/resume`],
      ['PUT', `${q}/clean/failed`],
      ['PUT', `${q}/clean/delayed`],
      ['PUT', `${q}/empty`],
      ['PUT', `${q}/obliterate`, { force: true }],
    ];
    const answers: string[] = [];
    for (const [method, path, body] of mutations) {
      const res = await board(method, path, body);
      await res.body?.cancel();
      answers.push(`${method} ${path} ${res.status}`);
    }
    // 405: Bull Board's answer for a read-only queue (not a 404 from a job already gone).
    expect(answers).toEqual(mutations.map(([method, path]) => `${method} ${path} 405`));
    // "Pause all" answers 200 for the other queues, but leaves remediations alone.
    const pauseAll = await board('PUT', '/queues/pause');
    await pauseAll.body?.cancel();
    expect(await snapshot(queue)).toEqual(before);

    // The board still shows the queue, read-only, and says so.
    const res = await board('GET', '/queues');
    const { queues } = (await res.json()) as {
      queues: { name: string; readOnlyMode: boolean; allowRetries: boolean }[];
    };
    expect(queues.find((x) => x.name === 'remediations')).toMatchObject({
      readOnlyMode: true,
      allowRetries: false,
    });
    expect(queues.find((x) => x.name === 'notifications')?.readOnlyMode).toBe(false);
  });
});
