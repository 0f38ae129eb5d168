import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { AdapterError } from '../errors.ts';
import type { Connections } from './connections.ts';
import { abortError } from './types.ts';

/**
 * PostgreSQL for database_query and the SQL form of run_script: one pool per named database of
 * `connections.databases`, opened on first use (a deployment that never queries opens nothing),
 * and one way to run a statement — inside a transaction, under a statement timeout, cancelled on
 * the server when the step's signal aborts.
 */

/** What a statement returned: the first `maxRows` rows, how many there were in all, and the columns. */
export interface StatementResult {
  rows: Record<string, unknown>[];
  /** Every row the statement returned (for writes: the rows it changed), before the cap. */
  rowCount: number;
  fields: pg.FieldDef[];
  /** The command tag: SELECT, UPDATE, … */
  command: string;
}

export interface TransactionOptions {
  /** `BEGIN READ ONLY` and always `ROLLBACK` (a diagnostic), or `BEGIN` … `COMMIT` (an action). */
  readOnly: boolean;
  /** `SET LOCAL statement_timeout`: the server stops the statement even if Fireline is gone. */
  statementTimeoutMs: number;
  signal: AbortSignal;
  /** Names the adapter in errors. */
  adapter: string;
}

export interface Statement {
  text: string;
  /** Bind values `$1`, `$2`, …: never spliced into the text. */
  values: readonly string[];
  /** Rows kept; the rest are counted and dropped as they arrive. */
  maxRows: number;
}

/** The pools of one process. */
export interface Postgres {
  /**
   * Runs one statement in its own transaction on database `name`.
   *
   * @throws AdapterError "database 'x' is not configured", for PostgreSQL's own errors (read-only,
   *   syntax, statement timeout) and connection failures (retryable), and on abort.
   */
  run(name: string, statement: Statement, opts: TransactionOptions): Promise<StatementResult>;
  /** Ends every pool; idempotent. */
  close(): Promise<void>;
}

// date and timestamp (without time zone) stay PostgreSQL's text: pg would read them as local time.
const TEXT_TYPES = new Set([1082, 1114]);
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    TEXT_TYPES.has(oid)
      ? (value: string) => value
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

// SQLSTATE classes worth another attempt: connection exceptions, serialization failures and
// deadlocks, insufficient resources, operator intervention (e.g. the server shutting down).
const RETRYABLE_SQLSTATE = /^(08|40|53|57P)/;

/** Builds the pools for `databases` (opened lazily). */
export function createPostgres(databases: Connections['databases']): Postgres {
  const pools = new Map<string, pg.Pool>();
  const pids = new WeakMap<pg.PoolClient, number>();
  let closing: Promise<void> | undefined;

  const poolFor = (name: string, adapter: string): { pool: pg.Pool; url: string } => {
    const url = databases[name]?.url;
    if (url === undefined)
      throw new AdapterError(adapter, `database '${name}' is not configured`, { retryable: false });
    if (closing) throw new AdapterError(adapter, 'the database pools are closed', { retryable: false });
    let pool = pools.get(name);
    if (!pool) {
      pool = new pg.Pool({
        connectionString: url,
        max: 5,
        idleTimeoutMillis: 30_000,
        connectionTimeoutMillis: 10_000,
        application_name: 'fireline',
        types: typeParsers,
      });
      // An idle client that breaks is dropped by the pool itself; the next statement opens a new
      // one or fails with its own error. Without a listener the 'error' event would end the process.
      pool.on('error', () => undefined);
      pools.set(name, pool);
    }
    return { pool, url };
  };

  return {
    async run(name, statement, opts) {
      const started = performance.now();
      const { pool, url } = poolFor(name, opts.adapter);
      const client = await connect(pool, name, opts);
      let released = false;
      const release = (destroy: boolean) => {
        if (released) return;
        released = true;
        client.release(destroy);
      };
      let cancelled: Promise<string | undefined> = Promise.resolve(undefined);
      const onAbort = () => {
        // Ask the server to stop the statement, and drop our socket so that the pending query
        // rejects now rather than when the server gets round to it. Uncommitted work rolls back.
        const pid = pids.get(client);
        if (pid !== undefined) cancelled = cancelBackend(url, pid);
        release(true);
      };
      try {
        opts.signal.addEventListener('abort', onAbort, { once: true });
        if (opts.signal.aborted) onAbort();
        if (!pids.has(client)) pids.set(client, await pidOf(client));
        await client.query(opts.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
        // SET takes no bind parameter; the value is an integer computed here.
        await client.query(
          `SET LOCAL statement_timeout = ${Math.max(1, Math.ceil(opts.statementTimeoutMs))}`,
        );
        const result = await runStatement(client, statement);
        await client.query(opts.readOnly ? 'ROLLBACK' : 'COMMIT');
        return result;
      } catch (err) {
        if (opts.signal.aborted) {
          const problem = await cancelled;
          const aborted = abortError(opts.adapter, opts.signal, performance.now() - started);
          if (problem === undefined) throw aborted;
          throw new AdapterError(
            opts.adapter,
            `${aborted.message.slice(opts.adapter.length + 2)}; the server did not confirm the cancel (${problem}), its statement_timeout ends the statement`,
            { retryable: false, cause: aborted },
          );
        }
        // A connection that cannot even roll back is dropped; the server rolls back on disconnect.
        if (!released) await client.query('ROLLBACK').catch(() => release(true));
        throw sqlError(opts.adapter, name, err);
      } finally {
        opts.signal.removeEventListener('abort', onAbort);
        release(false);
      }
    },
    close() {
      closing ??= Promise.all([...pools.values()].map((p) => p.end())).then(() => undefined);
      return closing;
    },
  };
}

/** A pooled client, or an abort error as soon as the signal fires (the late client goes back). */
async function connect(pool: pg.Pool, name: string, opts: TransactionOptions): Promise<pg.PoolClient> {
  if (opts.signal.aborted) throw abortError(opts.adapter, opts.signal, 0);
  const started = performance.now();
  const connecting = pool.connect();
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(opts.adapter, opts.signal, performance.now() - started));
    opts.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([
      connecting.catch((err: unknown) => Promise.reject(sqlError(opts.adapter, name, err))),
      aborted,
    ]);
  } catch (err) {
    // Lost the race to the abort: whatever the pool hands over later is returned unused (and a
    // failure to connect is already the error being thrown, or moot after the abort).
    connecting.then(
      (client) => client.release(),
      () => undefined,
    );
    throw err;
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
  }
}

async function pidOf(client: pg.PoolClient): Promise<number> {
  const result = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return result.rows[0]!.pid;
}

/**
 * Asks the server to stop whatever backend `pid` runs, over a connection of its own. Resolves with
 * why that failed, or undefined (cancelled, or the backend had already gone with our socket).
 */
async function cancelBackend(url: string, pid: number): Promise<string | undefined> {
  const killer = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  let failure: string | undefined;
  killer.on('error', (err) => {
    failure = err.message;
  });
  try {
    await killer.connect();
    await killer.query('SELECT pg_cancel_backend($1)', [pid]);
  } catch (err) {
    failure ??= err instanceof Error ? err.message : String(err);
  }
  // Ending a connection that never opened fails as well; the failure that matters is kept above.
  await killer.end().catch(() => undefined);
  return failure;
}

/**
 * Runs one statement with the extended protocol, even without parameters: PostgreSQL then refuses
 * a second statement (`…; COMMIT; DELETE …`), so a statement cannot end our transaction early.
 */
function runStatement(client: pg.PoolClient, statement: Statement): Promise<StatementResult> {
  const config: pg.QueryConfig & { queryMode: 'extended' } = {
    text: statement.text,
    values: [...statement.values],
    queryMode: 'extended',
  };
  const query = new pg.Query(config);
  const rows: Record<string, unknown>[] = [];
  let seen = 0;
  return new Promise((resolve, reject) => {
    query.on('row', (row: Record<string, unknown>) => {
      seen += 1;
      if (rows.length < statement.maxRows) rows.push(row);
    });
    query.on('error', reject);
    query.on('end', (result) =>
      resolve({
        rows,
        rowCount: result.command === 'SELECT' || seen > 0 ? seen : (result.rowCount ?? 0),
        fields: result.fields,
        command: result.command,
      }),
    );
    client.query(query);
  });
}

function sqlError(adapter: string, database: string, err: unknown): AdapterError {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code))
    return new AdapterError(adapter, `${database}: ${message} (SQLSTATE ${code})`, {
      retryable: RETRYABLE_SQLSTATE.test(code) && code !== '57014',
      cause: err,
    });
  // Not from the server: the connection failed (refused, reset, timed out).
  return new AdapterError(adapter, `${database}: ${message}`, { retryable: true, cause: err });
}

const NUMBER_TYPES = new Set([20, 1700]); // bigint, numeric: pg hands them over as strings
const NUMBER_ARRAY_TYPES = new Set([1016, 1231]); // bigint[], numeric[]

/**
 * Rows as JSON-safe plain objects, fit for facts and the timeline: BIGINT and NUMERIC become
 * numbers when finite (so that `value > 10` compares numbers; past 2^53 precision is lost — cast
 * to text in SQL to keep every digit), NaN and Infinity stay strings; timestamptz becomes an ISO
 * string in UTC, date and timestamp stay PostgreSQL's text; bytea becomes `\x` + hex, as psql
 * shows it; a JavaScript BigInt becomes a number when safe, else a string.
 */
export function jsonRows(result: Pick<StatementResult, 'rows' | 'fields'>): Record<string, unknown>[] {
  return result.rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const field of result.fields) {
      const value = row[field.name];
      if (NUMBER_TYPES.has(field.dataTypeID)) out[field.name] = toNumber(value);
      else if (NUMBER_ARRAY_TYPES.has(field.dataTypeID)) out[field.name] = deepMap(value, toNumber);
      else out[field.name] = jsonSafe(value);
    }
    return out;
  });
}

function toNumber(value: unknown): unknown {
  if (typeof value !== 'string') return jsonSafe(value);
  const n = Number(value);
  return Number.isFinite(n) ? n : value;
}

function deepMap(value: unknown, leaf: (v: unknown) => unknown): unknown {
  return Array.isArray(value) ? value.map((v) => deepMap(v, leaf)) : leaf(value);
}

function jsonSafe(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (typeof value === 'bigint')
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  return value;
}
