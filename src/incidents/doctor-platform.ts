import type { Stats } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { formatIssue } from '../engine/runbook-parse.ts';
import { latestSchemaVersion, schemaVersion } from '../history/db.ts';
import { readRedisSettings } from '../redis/settings.ts';
import {
  check,
  type DoctorCheck,
  type DoctorSources,
  type HistorySource,
  messageOf,
  type Probe,
  type RedisSource,
} from './doctor-report.ts';

/** Fireline's own footing: Redis (reachable, persistence, eviction), the history, tokens, dry run. */

const REDIS_CONF = 'redis.conf (or CONFIG SET on the server)';

/** Three checks: reachable, persistence, eviction policy (the last two skipped when unreachable). */
export function redisChecks(source: RedisSource): Probe[] {
  const base = { group: 'redis' as const };
  if (source.client === null) {
    const { status, detail, fix } = source;
    const skip = (id: string, title: string) => async () =>
      check({ ...base, id, title, status: 'skip', detail: 'Redis was not reached' });
    return [
      async () => check({ ...base, id: 'redis.reachable', title: 'Redis reachable', status, detail, fix }),
      skip('redis.persistence', 'Redis persistence'),
      skip('redis.eviction', 'Redis eviction policy'),
    ];
  }
  const { client, where } = source;
  // One read shared by the three checks.
  let read: ReturnType<typeof readSettings> | undefined;
  const settings = () => {
    read ??= readSettings(client);
    return read;
  };
  return [
    async () => {
      const s = await settings();
      return s.ok
        ? check({
            ...base,
            id: 'redis.reachable',
            title: 'Redis reachable',
            status: 'ok',
            detail: `Redis ${s.value.version} answers at ${where}`,
          })
        : check({
            ...base,
            id: 'redis.reachable',
            title: 'Redis reachable',
            status: 'fail',
            detail: `no answer from ${where}: ${s.error}`,
            fix: 'REDIS_URL',
          });
    },
    async () => {
      const s = await settings();
      const title = 'Redis persistence';
      if (!s.ok)
        return check({
          ...base,
          id: 'redis.persistence',
          title,
          status: 'skip',
          detail: 'Redis was not reached',
        });
      if (s.value.aof)
        return check({
          ...base,
          id: 'redis.persistence',
          title,
          status: 'ok',
          detail: 'append-only file on (appendonly yes)',
        });
      const rdb = s.value.rdbSave;
      const detail =
        rdb === null
          ? 'append-only file off; RDB snapshot rules unreadable (CONFIG refused): a crash may lose recent incidents'
          : rdb === ''
            ? 'no persistence (appendonly no, no save rules): a restart loses every incident and queued job'
            : `RDB snapshots only (save ${rdb}): a crash loses what changed since the last snapshot`;
      return check({
        ...base,
        id: 'redis.persistence',
        title,
        status: 'warn',
        detail,
        fix: `appendonly yes in ${REDIS_CONF}`,
      });
    },
    async () => {
      const s = await settings();
      const title = 'Redis eviction policy';
      if (!s.ok)
        return check({
          ...base,
          id: 'redis.eviction',
          title,
          status: 'skip',
          detail: 'Redis was not reached',
        });
      const policy = s.value.maxmemoryPolicy;
      return policy === 'noeviction'
        ? check({ ...base, id: 'redis.eviction', title, status: 'ok', detail: 'maxmemory-policy noeviction' })
        : check({
            ...base,
            id: 'redis.eviction',
            title,
            status: 'warn',
            detail: `maxmemory-policy ${policy}: when Redis is full it deletes keys, queued jobs and incidents among them`,
            fix: `maxmemory-policy noeviction in ${REDIS_CONF}`,
          });
    },
  ];
}

async function readSettings(client: Parameters<typeof readRedisSettings>[0]) {
  try {
    return { ok: true as const, value: await readRedisSettings(client) };
  } catch (err) {
    // ioredis rejects with an Error when the server cannot be reached; anything else is a bug.
    if (!(err instanceof Error)) throw err;
    return { ok: false as const, error: messageOf(err) };
  }
}

/** The history: off, a database (answers, schema at the latest migration), or the embedded one's directory. */
export function historyCheck(source: HistorySource): Probe {
  const base = { group: 'history' as const, id: 'history.database', title: 'Incident history' };
  return async () => {
    if (source.kind === 'off')
      return check({
        ...base,
        status: 'skip',
        detail: 'off (FIRELINE_HISTORY=off): incidents leave with Redis retention',
      });
    if (source.kind === 'dir') return embeddedCheck(source.dir);
    const { db } = source;
    const latest = latestSchemaVersion();
    let version: number;
    try {
      version = await schemaVersion(db);
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      return check({
        ...base,
        status: 'fail',
        detail: `${db.where} does not answer: ${messageOf(err)}`,
        fix: db.kind === 'postgres' ? 'DATABASE_URL' : 'FIRELINE_DATA_DIR',
      });
    }
    if (version < latest)
      return check({
        ...base,
        status: 'fail',
        detail: `${db.where} is at schema version ${version}, this Fireline needs ${latest}`,
        fix: 'start Fireline once (fireline start runs the migrations in src/history/migrations/)',
      });
    return check({
      ...base,
      status: 'ok',
      detail: `${db.kind === 'postgres' ? 'PostgreSQL' : 'embedded PostgreSQL'} at ${db.where}, schema version ${version} (latest)`,
    });
  };
}

/** The embedded database's directory: writable, or creatable in a writable parent. Not opened: its owner may hold it. */
async function embeddedCheck(dir: string): Promise<DoctorCheck> {
  const base = { group: 'history' as const, id: 'history.database', title: 'Incident history' };
  const full = resolve(dir);
  // The directory, or its nearest existing ancestor: that one must be a writable directory.
  let existing = full;
  let found: Stats | undefined;
  for (;;) {
    found = await stat(existing).then(
      (st) => st,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
        throw err;
      },
    );
    if (found || dirname(existing) === existing) break;
    existing = dirname(existing);
  }
  const fix = 'FIRELINE_DATA_DIR (a writable directory), or DATABASE_URL for a PostgreSQL server';
  if (found && !found.isDirectory())
    return check({
      ...base,
      status: 'fail',
      detail: `embedded PostgreSQL: ${existing} is a file, so ${full} cannot be created`,
      fix,
    });
  const writable = await access(existing, constants.W_OK).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'EACCES' || err.code === 'EROFS' || err.code === 'EPERM') return false;
      throw err;
    },
  );
  if (!writable)
    return check({
      ...base,
      status: 'fail',
      detail: `embedded PostgreSQL: ${existing} is not writable, so ${full} cannot be ${existing === full ? 'written' : 'created'}`,
      fix,
    });
  const made =
    existing === full &&
    (await stat(join(full, 'PG_VERSION')).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    ));
  return check({
    ...base,
    status: 'ok',
    detail: made
      ? `embedded PostgreSQL in ${full} (migrated when Fireline starts; one process only)`
      : `embedded PostgreSQL: ${full} will be created when Fireline starts (one process only; DATABASE_URL to share)`,
  });
}

/** The runbooks load (with their issues, when the caller loaded the files). */
export function runbooksCheck(sources: Pick<DoctorSources, 'runbooks' | 'runbookIssues'>): DoctorCheck {
  const base = { group: 'runbooks' as const, id: 'runbooks.load', title: 'Runbooks' };
  const errors = (sources.runbookIssues ?? []).filter((i) => i.severity === 'error');
  const loaded = `${sources.runbooks.length} runbook${sources.runbooks.length === 1 ? '' : 's'} loaded`;
  if (errors.length > 0)
    return check({
      ...base,
      status: 'fail',
      detail: `${errors.length} error${errors.length === 1 ? '' : 's'} (fireline lint lists them); ${loaded}`,
      fix: formatIssue(errors[0]!),
    });
  if (sources.runbooks.length === 0)
    return check({
      ...base,
      status: 'warn',
      detail: 'no runbooks: no alert starts anything',
      fix: 'FIRELINE_RUNBOOKS (a directory of *.yaml runbooks)',
    });
  return check({ ...base, status: 'ok', detail: loaded });
}

/** Tokens and dry run: said, not probed. */
export function settingChecks(sources: Pick<DoctorSources, 'tokens' | 'dryRun'>): DoctorCheck[] {
  const base = { group: 'settings' as const };
  return [
    sources.tokens
      ? check({
          ...base,
          id: 'settings.tokens',
          title: 'API tokens',
          status: 'ok',
          detail: 'on: the API and console ask for a token',
        })
      : check({
          ...base,
          id: 'settings.tokens',
          title: 'API tokens',
          status: 'warn',
          detail: 'off: the API and console ask for no token; whoever reaches the port may act',
          fix: 'FIRELINE_OPERATOR_TOKEN, FIRELINE_VIEWER_TOKEN, FIRELINE_INGEST_TOKEN (16+ characters each) or FIRELINE_TOKENS_FILE',
        }),
    sources.dryRun
      ? check({
          ...base,
          id: 'settings.dry-run',
          title: 'Dry run',
          status: 'warn',
          detail: 'on: every action is recorded, none runs',
          fix: 'FIRELINE_DRY_RUN=false to let actions run',
        })
      : check({
          ...base,
          id: 'settings.dry-run',
          title: 'Dry run',
          status: 'ok',
          detail: 'off: actions run for real',
        }),
  ];
}
