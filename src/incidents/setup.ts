import type { PipelineDeps } from './deps.ts';
import { type DoctorReport, runDoctor } from './doctor.ts';
import { doctorRunbooks } from './doctor-runbooks.ts';

/**
 * The setup report of a running process (the console's Setup page, the incident page's banner):
 * `runDoctor` over this process's own Redis connection, history database, connections, executors
 * and catalog. Kept for `ttlMs` so that pages do not run every check on every view; callers that
 * arrive while a report is being made share it.
 */

export interface SetupReportOptions {
  /** Where the runbooks were loaded from (their files give fixes a line, their tests example labels). */
  runbookPaths: readonly string[];
  /** Any API token is set. */
  tokens: boolean;
  /** FIRELINE_CONFIG as fixes name it. Default `fireline.yaml`. */
  configFile?: string;
  /** How long a report is served again. Default 60000. */
  ttlMs?: number;
}

export interface SetupReports {
  /** The cached report while it is fresh, else a new one; `fresh` asks for a new one now. */
  get(opts?: { fresh?: boolean }): Promise<DoctorReport>;
}

export function createSetupReports(
  deps: Pick<
    PipelineDeps,
    'redis' | 'history' | 'connections' | 'diagnostics' | 'catalog' | 'dryRun' | 'now'
  >,
  opts: SetupReportOptions,
): SetupReports {
  const ttlMs = opts.ttlMs ?? 60_000;
  let cached: { report: DoctorReport; at: number } | undefined;
  let making: Promise<DoctorReport> | undefined;
  const make = async () => {
    const report = await runDoctor({
      redis: { client: deps.redis, where: 'the Redis this Fireline uses' },
      history: deps.history ? { kind: 'db', db: deps.history.db } : { kind: 'off' },
      connections: deps.connections,
      configFile: opts.configFile ?? 'fireline.yaml',
      diagnostics: deps.diagnostics,
      runbooks: await doctorRunbooks(opts.runbookPaths, deps.catalog.all()),
      tokens: opts.tokens,
      dryRun: deps.dryRun,
      now: deps.now,
    });
    cached = { report, at: Date.now() };
    return report;
  };
  return {
    get({ fresh = false } = {}) {
      if (!fresh && cached && Date.now() - cached.at < ttlMs) return Promise.resolve(cached.report);
      making ??= make().finally(() => {
        making = undefined;
      });
      return making;
    },
  };
}
