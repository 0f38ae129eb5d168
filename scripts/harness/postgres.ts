import { randomUUID } from 'node:crypto';
import pg from 'pg';

/**
 * A database of its own on the machine's PostgreSQL, for a test file or a bench run. `PG_ADMIN_URL`
 * names the server and a role that may create and drop databases (default: the `postgres`
 * superuser over loopback with trust auth, as this machine has it).
 */
export const PG_ADMIN_URL = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface ScratchDatabaseName {
  name: string;
  /** Connection URL of the scratch database. */
  url: string;
  /** Drops it, even while others are still connected; idempotent. */
  drop(): Promise<void>;
}

async function asAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates `<prefix>_<random>` and names it. */
export async function createDatabase(prefix = 'fireline'): Promise<ScratchDatabaseName> {
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  // A database name is an identifier, never a bind value; this one is made of [a-z0-9_] only.
  await asAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: url.href,
    drop() {
      dropped ??= asAdmin(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
      return dropped;
    },
  };
}

/** The server's version (`SHOW server_version`), for a bench's report. */
export function serverVersion(): Promise<string> {
  return asAdmin(async (c) => (await c.query('SHOW server_version')).rows[0].server_version as string);
}
