// `fireline doctor`: the setup report (src/incidents/doctor.ts) of this machine's environment, as
// `fireline start` would find it: the same variables, fireline.yaml, runbooks and Redis.
import { join } from 'node:path';
import { loadConnections } from '../adapters/connections.ts';
import { createAdapters } from '../adapters/index.ts';
import { findProgram } from '../adapters/probes.ts';
import { loadRunbooks } from '../adapters/runbook-files.ts';
import { type Config, loadConfig, redactUrl } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { connectHistoryServer } from '../history/db.ts';
import {
  type CheckStatus,
  type DoctorReport,
  type HistorySource,
  type RedisSource,
  runDoctor,
} from '../incidents/doctor.ts';
import { doctorRunbooks } from '../incidents/doctor-runbooks.ts';
import { createRedis, type RedisClient, waitReady } from '../redis/client.ts';
import { redisAnswers } from '../redis/launcher.ts';
import { type CommandContext, EXIT } from './context.ts';

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗', skip: '–' };
const GROUP_TITLE: Record<string, string> = {
  redis: 'Redis',
  history: 'Incident history',
  runbooks: 'Runbooks',
  connections: 'Connections the runbooks use',
  diagnostics: 'Diagnostics, run once read-only',
  settings: 'Settings',
};

/** The report for people: a heading per group, one line per check (its fix after an arrow), a summary. */
export function formatDoctorReport(report: DoctorReport): string {
  const lines: string[] = [];
  let group = '';
  for (const c of report.checks) {
    if (c.group !== group) {
      group = c.group;
      lines.push(`${lines.length ? '\n' : ''}${GROUP_TITLE[group] ?? group}`);
    }
    lines.push(`  ${MARK[c.status]} ${c.title}: ${c.detail}${c.fix ? `  → ${c.fix}` : ''}`);
  }
  const { ok, warn, fail, skip } = report.counts;
  lines.push(
    '',
    `${ok} ok, ${warn} warning${warn === 1 ? '' : 's'}, ${fail} failed, ${skip} skipped (${report.durationMs} ms).${
      fail > 0 ? ' Each ✗ says what to set after the arrow.' : ''
    }`,
    '',
  );
  return lines.join('\n');
}

/** `fireline doctor [--json]`: exit 0 when no check failed, 1 otherwise (or when the configuration is invalid). */
export async function runDoctorCommand({ values, io }: CommandContext): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`fireline doctor: ${err.message}\n`);
    return EXIT.failed;
  }
  let connections: Awaited<ReturnType<typeof loadConnections>>;
  try {
    connections = await loadConnections(process.env, config.FIRELINE_CONFIG);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`fireline doctor: ${err.message}\n`);
    return EXIT.failed;
  }
  const adapters = createAdapters(connections);
  const redis = await redisSource(config);
  const history = historySource(config);
  try {
    const paths = [config.FIRELINE_RUNBOOKS];
    const loaded = await loadRunbooks(paths);
    const report = await runDoctor({
      redis: redis.source,
      history: history.source,
      connections,
      configFile: config.FIRELINE_CONFIG,
      diagnostics: adapters.diagnostics,
      runbooks: await doctorRunbooks(paths, loaded.runbooks),
      runbookIssues: loaded.issues,
      tokens: Boolean(
        config.FIRELINE_INGEST_TOKEN ||
          config.FIRELINE_OPERATOR_TOKEN ||
          config.FIRELINE_VIEWER_TOKEN ||
          config.FIRELINE_TOKENS_FILE,
      ),
      dryRun: config.FIRELINE_DRY_RUN,
    });
    io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
    return report.ok ? EXIT.ok : EXIT.failed;
  } finally {
    redis.client?.disconnect();
    await history.close();
    await adapters.close();
  }
}

/**
 * The Redis `fireline start` would use: REDIS_URL, else FIRELINE_LOCAL_REDIS when it answers; else
 * none, which is only a warning when redis-server is installed (start runs a private one then).
 */
async function redisSource(config: Config): Promise<{ source: RedisSource; client?: RedisClient }> {
  const url = config.REDIS_URL ?? config.FIRELINE_LOCAL_REDIS;
  const where = redactUrl(url);
  const local = config.REDIS_URL === undefined;
  if (local && !(await redisAnswers(url, 1000))) {
    const server = await findProgram('redis-server', process.env.PATH ?? '');
    return {
      source: server
        ? {
            client: null,
            status: 'warn',
            detail: `nothing answers at ${where}; fireline start will run its own redis-server (${server}) with appendonly yes and noeviction`,
            fix: 'REDIS_URL, to use a Redis that outlives Fireline',
          }
        : {
            client: null,
            status: 'fail',
            detail: `REDIS_URL is not set, nothing answers at ${where}, and redis-server is not installed`,
            fix: 'REDIS_URL (or install redis-server, which fireline start then runs itself)',
          },
    };
  }
  const client = createRedis(url, 'producer', { retryStrategy: () => null });
  // The reachability check reports a refused connection; the event is not an error of this command.
  client.on('error', () => undefined);
  try {
    await waitReady(client);
  } catch (err) {
    client.disconnect();
    return {
      source: {
        client: null,
        status: 'fail',
        detail: `no answer from ${where}: ${(err as Error).message}`,
        fix: 'REDIS_URL',
      },
    };
  }
  return { source: { client, where }, client };
}

/** The history as `fireline start` would open it, without opening the embedded one (a running Fireline may hold it). */
function historySource(config: Config): { source: HistorySource; close(): Promise<void> } {
  if (config.FIRELINE_HISTORY === 'off') return { source: { kind: 'off' }, close: async () => undefined };
  if (config.DATABASE_URL === undefined)
    return {
      source: { kind: 'dir', dir: join(config.FIRELINE_DATA_DIR, 'history') },
      close: async () => undefined,
    };
  // An idle connection's error shows up as the check's own failure when it queries.
  const db = connectHistoryServer(config.DATABASE_URL, () => undefined);
  return { source: { kind: 'db', db }, close: () => db.close() };
}
