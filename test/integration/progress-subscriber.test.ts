import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { resolveIncident } from '../../src/incidents/operations.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';
import { until } from '../helpers/poll.ts';

/**
 * examples/progress-subscriber.mjs, run as README "Progress channel" says, against a real pipeline
 * on the run's private Redis: killed mid-incident and restarted with the last id it printed, then
 * its connection dropped with CLIENT KILL; every event of the incident must come out once, in
 * order, those published while it was down included, each one valid against
 * docs/events.schema.json.
 */

const redisUrl = inject('redisUrl');

/** The diagnostic takes a second: the subscriber is killed before the decision is published. */
const RUNBOOK = `
id: slow
name: Slow checkout
severity: P2
service: checkout
triggers: [{ type: alert, alertName: CheckoutSlow }]
diagnostics:
  - id: latency
    name: Latency
    type: shell_command
    config: { command: [node, -e, "setTimeout(() => console.log(900), 1000)"] }
    interpret: { critical: "json >= 500", healthy: "json < 500" }
decisionTree:
  - otherwise: true
    then: [look]
remediations:
  - id: look
    name: Read the logs
    type: manual
    instructions: kubectl logs deploy/checkout
escalation:
  primary: "#ops"
  escalateAfterMinutes: 30
`;

interface Printed {
  id: string;
  globalId: string;
  incidentId: string;
  type: string;
}

/** The example as a child process, with what it printed so far. */
function subscriber(prefix: string, args: string[] = []) {
  const child: ChildProcess = spawn('node', ['examples/progress-subscriber.mjs', ...args], {
    env: { ...process.env, REDIS_URL: redisUrl, FIRELINE_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { events: [] as Printed[], stderr: '', partial: '', exited: false };
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (out.partial + chunk.toString('utf8')).split('\n');
    out.partial = lines.pop() ?? '';
    for (const line of lines) if (line) out.events.push(JSON.parse(line) as Printed);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out.stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((r) =>
    child.on('exit', () => {
      out.exited = true;
      r();
    }),
  );
  return {
    out,
    /** Resolves once it says it is live; rejects naming what it printed on stderr. */
    live: (times = 1) =>
      until(
        'the subscriber to catch up',
        async () => out,
        (o) => (o.stderr.match(/caught up/g)?.length ?? 0) >= times || o.exited,
      ).then((o) => {
        if (o.exited) throw new Error(`the subscriber exited:\n${o.stderr}`);
      }),
    kill: async (signal: NodeJS.Signals) => {
      if (!out.exited) child.kill(signal);
      await exited;
    },
  };
}

type Subscriber = ReturnType<typeof subscriber>;

describe('examples/progress-subscriber.mjs', () => {
  let pipeline: Pipeline | undefined;
  let admin: Redis | undefined;
  const running: Subscriber[] = [];
  afterEach(async () => {
    for (const s of running.splice(0)) await s.kill('SIGKILL');
    await pipeline?.close(5000);
    pipeline = undefined;
    admin?.disconnect();
    admin = undefined;
  });

  it('prints every event of an incident once, in order, across a kill and a dropped connection', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    pipeline = await testPipeline(redisUrl, [RUNBOOK], { prefix });
    await pipeline.startWorkers(FAST_WORKERS);
    admin = new Redis(redisUrl);

    const first = subscriber(prefix);
    running.push(first);
    await first.live();
    const [opened] = await pipeline.intake(firingAlert({ alertname: 'CheckoutSlow' }));
    if (opened?.outcome !== 'opened') throw new Error(`expected an incident, got ${JSON.stringify(opened)}`);
    const id = opened.incidentId;
    await until(
      'the first events printed',
      async () => first.out.events.filter((e) => e.incidentId === id).map((e) => e.type),
      (types) => types.includes('diagnostic.started'),
    );
    await first.kill('SIGKILL');
    const lastId = first.out.events.at(-1)?.globalId;
    if (!lastId) throw new Error('the first run printed nothing');

    // Published while no subscriber runs: the check's verdict and the decision.
    await eventsUntil(pipeline, id, (e) => e.type === 'decision.made');
    const second = subscriber(prefix, ['--after', lastId]);
    running.push(second);
    await second.live();

    // Its subscription dropped: it reconnects by itself and catches up again.
    const clients = String(await admin.client('LIST'));
    const subId = /id=(\d+) .*name=progress-subscriber /.exec(clients)?.[1];
    if (!subId) throw new Error(`no progress-subscriber connection in CLIENT LIST:\n${clients}`);
    await admin.client('KILL', 'ID', subId);
    for (const n of [1, 2, 3])
      await pipeline.deps.store.appendEvent(id, { type: 'note', actor: 'tester', message: `note ${n}` });
    await second.live(2);
    await resolveIncident(pipeline.deps, id, 'tester', 'fixed');

    const timelineIds = async () =>
      (await admin!.xrange(`${prefix}:incident:${id}:timeline`, '-', '+')).map(([tid]) => tid);
    const printedIds = () =>
      [...first.out.events, ...second.out.events].filter((e) => e.incidentId === id).map((e) => e.id);
    const { timeline, printed } = await until(
      'every event of the incident printed',
      async () => ({ timeline: await timelineIds(), printed: printedIds() }),
      (s) => s.printed.length >= s.timeline.length && s.printed.at(-1) === s.timeline.at(-1),
    );
    await second.kill('SIGTERM');

    expect(printed, `stderr:\n${first.out.stderr}${second.out.stderr}`).toEqual(timeline);
    const types = (s: Subscriber) => s.out.events.filter((e) => e.incidentId === id).map((e) => e.type);
    expect(types(first)).not.toContain('decision.made');
    expect(types(second), 'published while the subscriber was down').toContain('decision.made');
    expect(types(second)).toEqual(expect.arrayContaining(['note', 'incident.resolved']));
    expect(second.out.stderr).toContain('reconnected; catching up');

    const validate = new Ajv2020({ allErrors: true, strict: true }).compile(
      JSON.parse(readFileSync('docs/events.schema.json', 'utf8')),
    );
    const invalid = [...first.out.events, ...second.out.events].flatMap(({ type, ...rest }) =>
      validate({ type, ...rest }) ? [] : [{ type, errors: validate.errors }],
    );
    expect(invalid, 'events not valid against docs/events.schema.json').toEqual([]);
  });
});
