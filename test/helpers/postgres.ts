import { randomUUID } from 'node:crypto';
import pg from 'pg';

/**
 * The machine's PostgreSQL (trust auth on loopback). `PG_ADMIN_URL` overrides; role `postgres` is
 * a superuser here, so it can create and drop databases.
 */
const ADMIN_URL = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A database of its own for one test file; drop it in afterAll/afterEach. */
export interface ScratchDatabase {
  name: string;
  /** Connection URL of the scratch database (for `connections.databases`). */
  url: string;
  /** Runs SQL on the scratch database as the admin role (setup and assertions). */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<R[]>;
  /** Closes the admin connection and drops the database, even while others are still connected. */
  drop(): Promise<void>;
}

/** Creates `fireline_<random>` on the local server and connects to it. */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const name = `fireline_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    // A database name is an identifier, never a bind value; this one is made of [a-z0-9_] only.
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.href });
  await client.connect();
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: url.href,
    async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
      return (await client.query<R>(text, values)).rows;
    },
    drop() {
      dropped ??= (async () => {
        await client.end();
        const dropper = new pg.Client({ connectionString: ADMIN_URL });
        await dropper.connect();
        try {
          await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await dropper.end();
        }
      })();
      return dropped;
    },
  };
}
