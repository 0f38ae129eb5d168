import { spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { TimelineEvent } from '../../src/engine/types.ts';
import { openStreamCount } from '../../src/producer/sse.ts';
import { type CliFixture, cliFixture, runCli, startCli } from '../helpers/cli-api.ts';

const redisUrl = inject('redisUrl');

/** Waits until `cond()` holds (checked every 10 ms); fails naming `what` after `timeoutMs`. */
async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The watch lines without their clock: `type  message`. */
function withoutClock(stdout: string): string[] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.replace(/^\d\d:\d\d:\d\d {2}/, ''));
}

describe('fireline watch', () => {
  let fx: CliFixture | undefined;
  const aborts: AbortController[] = [];
  afterEach(async () => {
    for (const a of aborts.splice(0)) a.abort();
    await fx?.close();
    fx = undefined;
  });

  async function resolveViaApi(url: string, id: string): Promise<void> {
    const res = await fetch(`${url}/api/v1/incidents/${id}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ comment: 'from the test' }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
  }

  it('trigger --watch prints diagnostics and the decision, and exits 0 once the incident is resolved', async () => {
    fx = await cliFixture(redisUrl);
    const run = startCli(['trigger', 'db-pool', '--watch', '--url', fx.url]);
    const seen = await run.waitFor(/ {2}decision\.made {2}/);
    const id = /^Opened incident (inc-\S+)\n/.exec(seen)?.[1];
    if (!id) throw new Error(`no incident id in:\n${seen}`);
    await resolveViaApi(fx.url, id);
    expect(await run.done, run.stderr()).toBe(0);

    const lines = run.stdout().trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual([`Opened incident ${id}`, `  ${fx.url}/incidents/${id}`]);
    const events = lines.slice(2);
    const malformed = events.filter((l) => !/^\d\d:\d\d:\d\d {2}[a-z_]+\.[a-z_]+ {2}\S/.test(l));
    expect(malformed).toEqual([]);
    const shown = withoutClock(events.join('\n'));
    for (const line of [
      'diagnostic.finished  Database connections: critical (json.used_pct >= 90)',
      'diagnostic.finished  Queue depth: healthy (json.used_pct < 90)',
      'decision.made  Decided: Database pool exhausted → kill_idle, rollback, check_dashboards',
    ])
      expect(shown, shown.join('\n')).toContain(line);
    expect(shown.at(-1)).toBe('incident.resolved  anonymous resolved the incident: from the test');
    expect(run.stderr()).toBe('');

    // A resolved incident replays its whole timeline and ends at once; --json gives the events as is.
    const again = await runCli(['watch', id, '--json', '--url', fx.url]);
    const replayed = again.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as TimelineEvent);
    const timeline = await fx.pipeline.deps.store.timeline(id);
    const upToResolved = timeline.slice(0, timeline.findIndex((e) => e.type === 'incident.resolved') + 1);
    expect({ code: again.code, events: replayed }).toEqual({ code: 0, events: upToResolved });
  });

  it('reconnects with Last-Event-ID after a dropped connection: every event once, in order', async () => {
    fx = await cliFixture(redisUrl);
    const trigger = await runCli(['trigger', 'db-pool', '--json', '--url', fx.url]);
    const { incidentId: id } = JSON.parse(trigger.stdout) as { incidentId: string };
    const streams: Socket[] = [];
    fx.server.on('request', (req: IncomingMessage) => {
      if (req.url?.endsWith('/events')) streams.push(req.socket);
    });
    const run = startCli(['watch', id, '--url', fx.url]);
    await run.waitFor(/ {2}decision\.made {2}/);
    expect(streams).toHaveLength(1);
    streams[0]!.destroy();
    // Resolved while the watcher is disconnected: only the resumed stream can deliver it.
    await resolveViaApi(fx.url, id);
    expect(await run.done, run.stderr()).toBe(0);

    expect(run.stderr()).toMatch(/^reconnecting… \(.+; next try in 2 s\)\n$/);
    const timeline = await fx.pipeline.deps.store.timeline(id);
    const upToResolved = timeline.slice(0, timeline.findIndex((e) => e.type === 'incident.resolved') + 1);
    expect(withoutClock(run.stdout())).toEqual(upToResolved.map((e) => `${e.type}  ${e.message}`));
  });

  it('watch without an incident follows every incident from now, with the incident id, until stopped', async () => {
    fx = await cliFixture(redisUrl);
    const stop = new AbortController();
    aborts.push(stop);
    const run = startCli(['watch', '--url', fx.url], stop.signal);
    await until('the global event stream to open', () => openStreamCount() === 1);
    const res = await fetch(`${fx.url}/api/v1/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ runbookId: 'db-pool' }),
    });
    const { incidentId } = (await res.json()) as { incidentId: string };
    await run.waitFor(new RegExp(`^\\d\\d:\\d\\d:\\d\\d {2}${incidentId} {2}incident\\.opened {2}`, 'm'));
    stop.abort();
    expect({ code: await run.done, stderr: run.stderr() }).toEqual({ code: 0, stderr: '' });
  });

  it('an unknown incident exits 1 with the detail', async () => {
    fx = await cliFixture(redisUrl);
    expect(await runCli(['watch', 'inc-nope', '--url', fx.url])).toEqual({
      code: 1,
      stdout: '',
      stderr: "fireline watch: incident 'inc-nope' not found (404 Not Found)\n",
    });
  });

  it('bin/fireline.js watch exits 0 on SIGINT', async () => {
    fx = await cliFixture(redisUrl);
    const child = spawn('node', ['bin/fireline.js', 'watch', '--url', fx.url], { stdio: 'pipe' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    await until(
      'the watch process to open its stream',
      () => openStreamCount() === 1 || child.exitCode !== null,
    );
    child.kill('SIGINT');
    expect({ code: await exited, stderr }).toEqual({ code: 0, stderr: '' });
  });
});
