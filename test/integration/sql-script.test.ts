import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRunScriptAction, type RunScriptConfig } from '../../src/adapters/actions/run-script.ts';
import { createPostgres, type Postgres } from '../../src/adapters/postgres.ts';
import type { ActionContext } from '../../src/adapters/types.ts';
import { adapterFailure } from '../helpers/adapter-error.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.ts';

const HOSTILE = "'; DROP TABLE incidents; --\nnext line";

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase();
  await db.query(`
    CREATE TABLE incidents (id serial PRIMARY KEY, title text NOT NULL);
    CREATE TABLE sessions (id int PRIMARY KEY, state text NOT NULL, note text);
  `);
});
afterAll(async () => db?.drop());

let postgres: Postgres;
beforeEach(async () => {
  postgres = createPostgres({ default: { url: db.url } });
  await db.query('TRUNCATE incidents, sessions');
  await db.query(
    "INSERT INTO incidents (title) VALUES ('db slow'); INSERT INTO sessions VALUES (1, 'idle', NULL), (2, 'idle', NULL), (3, 'active', NULL)",
  );
});
afterEach(async () => postgres.close());

const action = (statementTimeoutMs?: number) =>
  createRunScriptAction({ postgres, ...(statementTimeoutMs ? { statementTimeoutMs } : {}) });
const cfg = (config: Record<string, unknown>): RunScriptConfig =>
  action().configSchema.parse({ database: 'default', ...config });
const live = (signal = new AbortController().signal): ActionContext => ({ signal, dryRun: false });
const sessions = () => db.query('SELECT id, state, note FROM sessions ORDER BY id');
const UNCHANGED = [
  { id: 1, state: 'idle', note: null },
  { id: 2, state: 'idle', note: null },
  { id: 3, state: 'active', note: null },
];

describe('run_script (sql form)', () => {
  it('commits the statement and reports the row count and returned rows', async () => {
    const outcome = await action().run(
      cfg({
        sql: 'UPDATE sessions SET state = $1 WHERE state = $2 RETURNING id',
        params: ['killed', 'idle'],
      }),
      live(),
    );
    expect(outcome).toEqual({
      dryRun: false,
      summary: "ran sql on database 'default': UPDATE 2 rows, committed",
      request: {
        database: 'default',
        sql: 'UPDATE sessions SET state = $1 WHERE state = $2 RETURNING id',
        params: ['killed', 'idle'],
      },
      output: '{"id":1}\n{"id":2}',
    });
    // Seen from another connection: committed.
    expect((await sessions()).map((s) => s.state)).toEqual(['killed', 'killed', 'active']);
    const plain = await action().run(cfg({ sql: "DELETE FROM sessions WHERE state = 'active'" }), live());
    expect(plain.summary).toBe("ran sql on database 'default': DELETE 1 row, committed");
    expect(plain.output).toBeUndefined();
  });

  it('stores hostile alert text verbatim as a bind value; nothing else runs', async () => {
    await action().run(cfg({ sql: 'UPDATE sessions SET note = $1 WHERE id = 1', params: [HOSTILE] }), live());
    expect((await sessions())[0]).toEqual({ id: 1, state: 'idle', note: HOSTILE });
    expect(await db.query('SELECT title FROM incidents')).toEqual([{ title: 'db slow' }]);
  });

  it('rolls back everything when the statement fails part-way', async () => {
    // The update runs first, then the division fails: none of it may stay.
    const error = await adapterFailure(
      action().run(
        cfg({
          sql: "WITH u AS (UPDATE sessions SET state = 'killed' RETURNING id) SELECT 1 / (count(*) - 3) FROM u",
        }),
        live(),
      ),
    );
    expect(error.message).toBe('run_script: default: division by zero (SQLSTATE 22012)');
    expect(error.retryable).toBe(false);
    expect(await sessions()).toEqual(UNCHANGED);
    // A second statement is refused, so a script cannot COMMIT early and go on.
    const two = await adapterFailure(
      action().run(cfg({ sql: "UPDATE sessions SET state = 'x'; COMMIT; DELETE FROM incidents" }), live()),
    );
    expect(two.message).toMatch(
      /cannot insert multiple commands into a prepared statement \(SQLSTATE 42601\)$/,
    );
    expect(await sessions()).toEqual(UNCHANGED);
  });

  it('stops at the statement timeout and on abort, rolling back the work done so far', async () => {
    const slow = "WITH u AS (UPDATE sessions SET state = 'killed' RETURNING id) SELECT pg_sleep(5) FROM u";
    const started = performance.now();
    const timedOut = await adapterFailure(action(500).run(cfg({ sql: slow }), live()));
    expect(timedOut.message).toBe(
      'run_script: default: canceling statement due to statement timeout (SQLSTATE 57014)',
    );
    const aborted = await adapterFailure(action().run(cfg({ sql: slow }), live(AbortSignal.timeout(500))));
    expect(aborted.message).toMatch(/^run_script: timed out after 0\.\ds$/);
    expect(performance.now() - started).toBeLessThan(3000);
    const active = () =>
      db.query(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()",
        [db.name],
      );
    await expect.poll(active, { timeout: 2000 }).toEqual([]);
    expect(await sessions()).toEqual(UNCHANGED);
  });

  it('runs nothing in a dry run, not even BEGIN, and describes the SQL and its params', async () => {
    const config = cfg({ sql: 'DELETE FROM sessions WHERE state = $1', params: [HOSTILE] });
    const outcome = await action().run(config, { signal: new AbortController().signal, dryRun: true });
    expect(outcome).toEqual({
      dryRun: true,
      summary: `dry run: would run sql on database 'default': DELETE FROM sessions WHERE state = $1 ($1 = ${JSON.stringify(HOSTILE)})`,
      request: { database: 'default', sql: 'DELETE FROM sessions WHERE state = $1', params: [HOSTILE] },
    });
    expect(await sessions()).toEqual(UNCHANGED);
    // The pool never even connected: no Fireline session ever reached the database.
    const connections = await db.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'fireline'",
      [db.name],
    );
    expect(connections).toEqual([{ n: 0 }]);
    // The same config for real does delete: the checks above could have failed.
    await action().run(cfg({ sql: 'DELETE FROM sessions WHERE state = $1', params: ['idle'] }), live());
    expect(await sessions()).toHaveLength(1);
  });

  it('names a database that is not configured', async () => {
    const error = await adapterFailure(action().run(cfg({ database: 'orders', sql: 'SELECT 1' }), live()));
    expect(error.message).toBe("run_script: database 'orders' is not configured");
  });
});
