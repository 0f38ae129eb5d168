import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createDatabaseQueryExecutor,
  type DatabaseQueryConfig,
} from '../../src/adapters/diagnostics/database-query.ts';
import { createPostgres, type Postgres } from '../../src/adapters/postgres.ts';
import type { DiagnosticContext } from '../../src/adapters/types.ts';
import { DiagnosticStepSchema } from '../../src/engine/runbook-schema.ts';
import { renderDiagnosticConfig, templateContext } from '../../src/engine/template.ts';
import { adapterFailure } from '../helpers/adapter-error.ts';
import { firingAlert } from '../helpers/pipeline.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.ts';

const HOSTILE = "'; DROP TABLE incidents; --";

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase();
  await db.query(`
    CREATE TABLE incidents (id serial PRIMARY KEY, title text NOT NULL);
    CREATE TABLE services (
      name text, errors bigint, ratio numeric, checked_at timestamptz, day date, blob bytea
    );
    INSERT INTO services VALUES
      ('payment', 42, 0.25, '2024-05-01T10:00:00Z', '2024-05-01', '\\x01ff'),
      ('fraud', 9007199254740993, 'NaN', NULL, NULL, NULL);
  `);
  await db.query('INSERT INTO incidents (title) VALUES ($1), ($2)', ['ordinary', HOSTILE]);
});
afterAll(async () => db?.drop());

let postgres: Postgres;
beforeEach(() => {
  postgres = createPostgres({ default: { url: db.url }, other: { url: db.url } });
});
afterEach(async () => postgres.close());

const executor = () => createDatabaseQueryExecutor(postgres);
const cfg = (config: Record<string, unknown>): DatabaseQueryConfig => executor().configSchema.parse(config);
const ctx = (signal = new AbortController().signal, timeoutMs?: number): DiagnosticContext => ({
  signal,
  ...(timeoutMs === undefined ? {} : { timeoutMs }),
});

/** Statements of the scratch database that the server is running now, other than this one. */
async function activeSleeps(): Promise<string[]> {
  const rows = await db.query<{ query: string }>(
    `SELECT query FROM pg_stat_activity
      WHERE datname = $1 AND state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()`,
    [db.name],
  );
  return rows.map((r) => r.query);
}

describe('database_query', () => {
  it('returns rows as JSON-safe objects, row_count and the first value as a number', async () => {
    const facts = await executor().run(
      cfg({ query: 'SELECT errors, ratio, name, checked_at, day, blob FROM services ORDER BY name DESC' }),
      ctx(),
    );
    expect(facts).toEqual({
      rows: [
        {
          errors: 42,
          ratio: 0.25,
          name: 'payment',
          checked_at: '2024-05-01T10:00:00.000Z',
          day: '2024-05-01',
          blob: '\\x01ff',
        },
        // Past 2^53 a BIGINT loses precision as a number; NaN is not a number JSON can carry.
        { errors: 9007199254740992, ratio: 'NaN', name: 'fraud', checked_at: null, day: null, blob: null },
      ],
      row_count: 2,
      truncated: false,
      value: 42,
    });
    // The facts survive JSON (they go to Redis and the timeline) unchanged.
    expect(JSON.parse(JSON.stringify(facts))).toEqual(facts);
  });

  it('gives value null and no rows for an empty result; SHOW works too', async () => {
    expect(await executor().run(cfg({ query: 'SELECT 1 WHERE false' }), ctx())).toEqual({
      rows: [],
      row_count: 0,
      truncated: false,
      value: null,
    });
    const show = await executor().run(cfg({ query: 'SHOW default_transaction_read_only' }), ctx());
    expect(show.value).toBe('off');
  });

  it('sends hostile alert text as a bind value only: the value round-trips, the table stays', async () => {
    const query =
      'SELECT $1::text AS received, current_query() AS sent, count(*) AS matches FROM incidents WHERE title = $1';
    const step = DiagnosticStepSchema.parse({
      id: 'lookup',
      name: 'Lookup',
      type: 'database_query',
      config: {
        query:
          'SELECT $1::text AS received, current_query() AS sent, count(*) AS matches FROM incidents WHERE title = $1',
        params: ['{{ alert.labels.service }}'],
      },
      interpret: { critical: 'row_count > 0' },
    });
    const alert = firingAlert({ alertname: 'X', service: HOSTILE });
    const rendered = renderDiagnosticConfig(
      step,
      templateContext(alert, { id: 'inc-1', severity: 'P1', service: 'payment', runbookId: 'rb' }),
    );
    if (!rendered.ok) throw new Error(`render failed: ${rendered.reason}`);
    const facts = await executor().run(cfg(rendered.config), ctx());
    const [row] = facts.rows as { received: string; sent: string; matches: number }[];
    expect(row?.received).toBe(HOSTILE);
    // What PostgreSQL got as statement text still says $1: the value never became SQL.
    expect(row?.sent).toBe(query);
    expect(row?.matches).toBe(1);
    expect(await db.query("SELECT to_regclass('incidents')::text AS t")).toEqual([{ t: 'incidents' }]);
    expect(await db.query('SELECT count(*)::int AS n FROM incidents')).toEqual([{ n: 2 }]);
  });

  it('refuses writes and DDL with PostgreSQL read-only error, and a second statement', async () => {
    const insert = await adapterFailure(
      executor().run(cfg({ query: "INSERT INTO incidents (title) VALUES ('x')" }), ctx()),
    );
    expect(insert.message).toBe(
      'database_query: default: cannot execute INSERT in a read-only transaction (SQLSTATE 25006)',
    );
    expect(insert.retryable).toBe(false);
    const ddl = await adapterFailure(executor().run(cfg({ query: 'DROP TABLE incidents' }), ctx()));
    expect(ddl.message).toMatch(/cannot execute DROP TABLE in a read-only transaction \(SQLSTATE 25006\)$/);
    // A statement cannot end the read-only transaction and write after it.
    const breakout = await adapterFailure(
      executor().run(cfg({ query: "SELECT 1; COMMIT; INSERT INTO incidents (title) VALUES ('y')" }), ctx()),
    );
    expect(breakout.message).toMatch(/cannot insert multiple commands into a prepared statement/);
    expect(await db.query('SELECT title FROM incidents ORDER BY id')).toEqual([
      { title: 'ordinary' },
      { title: HOSTILE },
    ]);
  });

  it("runs in a read-only transaction whose statement_timeout is the step's timeout", async () => {
    const query =
      "SELECT current_setting('transaction_read_only') AS ro, current_setting('statement_timeout') AS t";
    expect((await executor().run(cfg({ query }), ctx(undefined, 2500))).rows).toEqual([
      { ro: 'on', t: '2500ms' },
    ]);
    // Without the step's timeout, a generous backstop: the abort signal enforces the step's own.
    expect((await executor().run(cfg({ query }), ctx())).rows).toEqual([{ ro: 'on', t: '10min' }]);
  });

  it('caps rows at maxRows, counts them all and says truncated', async () => {
    const query = 'SELECT n FROM generate_series(1, 50) AS n';
    const capped = await executor().run(cfg({ query, maxRows: 10 }), ctx());
    expect(capped).toMatchObject({ row_count: 50, truncated: true, value: 1 });
    expect(capped.rows).toEqual(Array.from({ length: 10 }, (_, i) => ({ n: i + 1 })));
    const whole = await executor().run(cfg({ query, maxRows: 50 }), ctx());
    expect(whole).toMatchObject({ row_count: 50, truncated: false });
  });

  it("stops a statement at the step's timeout on the server (statement_timeout)", async () => {
    const started = performance.now();
    const error = await adapterFailure(
      executor().run(cfg({ query: 'SELECT pg_sleep(5)' }), ctx(undefined, 1000)),
    );
    expect(error.message).toBe(
      'database_query: default: canceling statement due to statement timeout (SQLSTATE 57014)',
    );
    expect(performance.now() - started).toBeLessThan(3000);
    // The pooled connection is clean afterwards.
    expect((await executor().run(cfg({ query: 'SELECT 7' }), ctx())).value).toBe(7);
  });

  it('cancels the statement on the server when the step times out (abort signal)', async () => {
    const started = performance.now();
    // No timeoutMs in the context: only the signal can stop the 5-second sleep in time.
    const error = await adapterFailure(
      executor().run(cfg({ query: 'SELECT pg_sleep(5)' }), ctx(AbortSignal.timeout(1000))),
    );
    expect(error.message).toMatch(/^database_query: timed out after 1\.\ds$/);
    expect(performance.now() - started).toBeLessThan(3000);
    await expect.poll(activeSleeps, { timeout: 2000 }).toEqual([]);
  });

  it('cancels on abort while running, and the pool still answers afterwards', async () => {
    const controller = new AbortController();
    const running = executor().run(cfg({ query: 'SELECT pg_sleep(5)' }), ctx(controller.signal));
    await expect.poll(activeSleeps, { timeout: 5000 }).toHaveLength(1);
    controller.abort();
    const error = await adapterFailure(running);
    expect(error.message).toMatch(/^database_query: cancelled after \d+\.\ds$/);
    await expect.poll(activeSleeps, { timeout: 2000 }).toEqual([]);
    expect((await executor().run(cfg({ query: 'SELECT 1' }), ctx())).value).toBe(1);
    await expect(executor().run(cfg({ query: 'SELECT 1' }), ctx(AbortSignal.abort()))).rejects.toThrow(
      /^database_query: cancelled after 0\.0s$/,
    );
  });

  it('names a database that is not configured, and reads a named one', async () => {
    const error = await adapterFailure(executor().run(cfg({ database: 'orders', query: 'SELECT 1' }), ctx()));
    expect(error.message).toBe("database_query: database 'orders' is not configured");
    expect(error.retryable).toBe(false);
    expect(
      (await executor().run(cfg({ database: 'other', query: 'SELECT current_database()' }), ctx())).value,
    ).toBe(db.name);
  });

  it('fails retryably when the server cannot be reached', async () => {
    const unreachable = createPostgres({ default: { url: 'postgres://postgres@127.0.0.1:1/none' } });
    try {
      const error = await adapterFailure(
        createDatabaseQueryExecutor(unreachable).run(cfg({ query: 'SELECT 1' }), ctx()),
      );
      expect(error.message).toMatch(/^database_query: default: connect ECONNREFUSED 127\.0\.0\.1:1$/);
      expect(error.retryable).toBe(true);
    } finally {
      await unreachable.close();
    }
  });
});
