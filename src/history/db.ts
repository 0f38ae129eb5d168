import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import pg from 'pg';
import Postgrator from 'postgrator';
import { ConfigError } from '../errors.ts';

/**
 * The history database: the server `DATABASE_URL` names (node-postgres), or an embedded
 * PostgreSQL (PGlite) in a directory. One interface and the same SQL for both, so every query and
 * every test runs the same code path on either; the schema is kept by postgrator from the plain
 * SQL files in src/history/migrations/, run at start under an advisory lock (two processes
 * starting at once migrate once).
 */

/** Runs one statement; rows come back with the same JS types from either database. */
export interface SqlRunner {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs a script of several statements without parameters (a migration). */
  exec(script: string): Promise<void>;
}

export interface HistoryDb extends SqlRunner {
  readonly kind: 'postgres' | 'pglite';
  /** Where it is, for logs (a URL without its password, or the directory). */
  readonly where: string;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type HistoryTarget = { url: string } | { dir: string } | { memory: true };

// Both drivers answer alike: counts and numerics as numbers, times as ISO strings, jsonb parsed.
const INT8 = 20;
const NUMERIC = 1700;
const TIMESTAMPTZ = 1184;
/** PostgreSQL's `2026-12-07 16:55:01.123456+00` (offset maybe `+05:30`) as an ISO string in UTC. */
const iso = (v: string): string =>
  new Date(v.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')).toISOString();
const toNumber = (v: string): number => Number(v);

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
const MIGRATIONS = join(MIGRATIONS_DIR, '*.sql');
/** Any constant naming Fireline's migration lock; both databases honour advisory locks. */
const MIGRATION_LOCK = 7_315_020_411;

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return 'DATABASE_URL (unparseable)';
  }
}

function pgDb(url: string, onError: (err: Error) => void): HistoryDb {
  const parse = ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 || oid === NUMERIC) return toNumber;
    if (oid === TIMESTAMPTZ) return iso;
    return pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser;
  const pool = new pg.Pool({ connectionString: url, max: 5, types: { getTypeParser: parse } });
  // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
  pool.on('error', onError);
  const runner = (client: pg.Pool | pg.PoolClient): SqlRunner => ({
    async query<R>(text: string, params: readonly unknown[] = []) {
      return (await client.query(text, params as unknown[])).rows as R[];
    },
    async exec(script: string) {
      await client.query(script);
    },
  });
  return {
    kind: 'postgres',
    where: redact(url),
    ...runner(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(runner(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

async function pgliteDb(target: { dir: string } | { memory: true }): Promise<HistoryDb> {
  const parsers = {
    [pgliteTypes.INT8]: toNumber,
    [pgliteTypes.NUMERIC]: toNumber,
    [pgliteTypes.TIMESTAMPTZ]: iso,
  };
  let dataDir: string | undefined;
  if ('dir' in target) {
    mkdirSync(target.dir, { recursive: true });
    dataDir = target.dir;
  }
  const db = await PGlite.create(dataDir, { parsers }).catch((err: Error) => {
    throw new ConfigError(
      `cannot open the embedded history database in ${dataDir ?? 'memory'}: ${err.message} (is another Fireline process using it? Only one process may; set DATABASE_URL to share a PostgreSQL)`,
    );
  });
  const runner = (q: Pick<PGlite, 'query' | 'exec'>): SqlRunner => ({
    async query<R>(text: string, params: readonly unknown[] = []) {
      return (await q.query<R>(text, params as unknown[])).rows;
    },
    async exec(script: string) {
      await q.exec(script);
    },
  });
  return {
    kind: 'pglite',
    where: dataDir ?? 'memory',
    ...runner(db),
    transaction: (fn) => db.transaction((tx) => fn(runner(tx))),
    close: () => db.close(),
  };
}

/** Opens the history database and brings its schema up to date; `onError` hears an idle connection's failure. */
export async function openHistoryDb(
  target: HistoryTarget,
  onError: (err: Error) => void,
): Promise<HistoryDb> {
  const db = 'url' in target ? pgDb(target.url, onError) : await pgliteDb(target);
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw new ConfigError(`history database at ${db.where}: ${(err as Error).message}`);
  }
  return db;
}

/**
 * A connection to the history server at `url` that changes nothing: no migration (for
 * `fireline doctor`, which reports the schema's version with {@link schemaVersion}).
 */
export function connectHistoryServer(url: string, onError: (err: Error) => void): HistoryDb {
  return pgDb(url, onError);
}

/** The version the migrations in src/history/migrations/ bring the schema to (`002.do.stats.sql` → 2). */
export function latestSchemaVersion(): number {
  const versions = readdirSync(MIGRATIONS_DIR).flatMap((f) => {
    const m = /^(\d+)\.do\./.exec(f);
    return m ? [Number(m[1])] : [];
  });
  return Math.max(0, ...versions);
}

/** The schema version the database is at (postgrator's table), 0 when it was never migrated. */
export async function schemaVersion(db: SqlRunner): Promise<number> {
  const [found] = await db.query<{ present: boolean }>(
    "SELECT to_regclass('fireline_schema_version') IS NOT NULL AS present",
  );
  if (!found?.present) return 0;
  const [row] = await db.query<{ version: number | null }>(
    'SELECT max(version)::int AS version FROM fireline_schema_version',
  );
  return row?.version ?? 0;
}

async function migrate(db: HistoryDb): Promise<void> {
  await db.transaction(async (tx) => {
    // Held to the end of the transaction: a second process waits here, then finds nothing to do.
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const [row] = await tx.query<{ name: string }>('SELECT current_database() AS name');
    const postgrator = new Postgrator({
      migrationPattern: MIGRATIONS,
      driver: 'pg',
      database: row?.name ?? '',
      schemaTable: 'fireline_schema_version',
      execQuery: async (text: string) => ({ rows: await tx.query(text) }),
      execSqlScript: (script: string) => tx.exec(script),
    });
    await postgrator.migrate();
  });
}
