import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { main } from '../../src/cli/main.ts';
import type { Pipeline, PipelineOptions } from '../../src/process/pipeline.ts';
import { createApp } from '../../src/producer/app.ts';
import type { AuthConfig } from '../../src/producer/auth.ts';
import { eventRoutes } from '../../src/producer/routes/events.ts';
import { incidentRoutes } from '../../src/producer/routes/incidents.ts';
import { remediationRoutes } from '../../src/producer/routes/remediations.ts';
import { runbookRoutes } from '../../src/producer/routes/runbooks.ts';
import { FAST_WORKERS, testPipeline } from './pipeline.ts';

/**
 * A runbook whose checks are local processes: the pool reads 96 % (critical), the queue 10 %
 * (healthy). The decision plans an automated no-op, a step needing approval, a manual step.
 */
export const DB_RUNBOOK = `
id: db-pool
name: Database pool exhausted
severity: P1
service: payments
triggers: [{ type: alert, alertName: DbPoolExhausted }]
diagnostics:
  - id: db_connections
    name: Database connections
    type: shell_command
    config: { command: [node, -e, "console.log(JSON.stringify({ used_pct: 96 }))"] }
    interpret: { critical: json.used_pct >= 90, healthy: json.used_pct < 90 }
  - id: queue_depth
    name: Queue depth
    type: shell_command
    config: { command: [node, -e, "console.log(JSON.stringify({ used_pct: 10 }))"] }
    interpret: { critical: json.used_pct >= 90, healthy: json.used_pct < 90 }
decisionTree:
  - condition: "diagnostics.db_connections.status == 'critical'"
    then: [kill_idle, rollback, check_dashboards]
    description: Database pool exhausted
remediations:
  - id: kill_idle
    name: Kill idle connections
    type: automated
    action: { type: run_script, config: { command: [node, -e, ""] } }
  - id: rollback
    name: Roll back
    type: automated
    requiresApproval: true
    action: { type: run_script, config: { command: [node, -e, ""] } }
  - id: check_dashboards
    name: Check the dashboards
    type: manual
    instructions: Compare p99 with last week.
escalation: { primary: '#payments', escalateAfterMinutes: 15 }
`;

/** A pipeline with workers and the operator API on 127.0.0.1, port 0; `close` stops both. */
export interface CliFixture {
  pipeline: Pipeline;
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function cliFixture(
  redisUrl: string,
  auth: AuthConfig = {},
  extra: Partial<PipelineOptions> = {},
): Promise<CliFixture> {
  const pipeline = await testPipeline(redisUrl, [DB_RUNBOOK], extra);
  try {
    await pipeline.startWorkers(FAST_WORKERS);
    const app = createApp(
      { pipeline, auth, logger: pipeline.deps.logger, runbookPaths: [], sseHeartbeatMs: 1000 },
      [incidentRoutes, eventRoutes, remediationRoutes, runbookRoutes],
    );
    const server: Server = await new Promise((resolve, reject) => {
      const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
    });
    return {
      pipeline,
      server,
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      async close() {
        server.closeAllConnections();
        await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
        await pipeline.close(5000);
      },
    };
  } catch (err) {
    await pipeline.close(5000);
    throw err;
  }
}

/** One in-process `fireline …` run whose output can be awaited while it still runs. */
export interface CliRun {
  /** The exit code, once `main` returns. */
  done: Promise<number>;
  stdout(): string;
  stderr(): string;
  /** Resolves with stdout once it matches `re`; rejects after `timeoutMs` naming what it saw. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
}

export function startCli(argv: string[], signal?: AbortSignal): CliRun {
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const done = main(argv, {
    stdout: {
      write: (s: string) => {
        out += s;
        for (const w of waiters) w();
      },
    },
    stderr: { write: (s: string) => (err += s) },
    ...(signal ? { signal } : {}),
  });
  return {
    done,
    stdout: () => out,
    stderr: () => err,
    waitFor(re, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!re.test(out)) return;
          cleanup();
          resolve(out);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`expected stdout to match ${re} within ${timeoutMs} ms; saw:\n${out}\nstderr:\n${err}`),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
        done.then(
          (code) => {
            if (!waiters.has(check)) return;
            cleanup();
            reject(
              new Error(`fireline exited ${code} before stdout matched ${re}; saw:\n${out}\nstderr:\n${err}`),
            );
          },
          (e: unknown) => {
            cleanup();
            reject(e);
          },
        );
      });
    },
  };
}

/** Runs `fireline <argv>` to the end. */
export async function runCli(argv: string[]) {
  const run = startCli(argv);
  const code = await run.done;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}
