import pg from 'pg';
import { createDatabase } from '../../scripts/harness/postgres.ts';

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
  const db = await createDatabase();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  let dropped: Promise<void> | undefined;
  return {
    name: db.name,
    url: db.url,
    async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
      return (await client.query<R>(text, values)).rows;
    },
    drop() {
      dropped ??= (async () => {
        await client.end();
        await db.drop();
      })();
      return dropped;
    },
  };
}
