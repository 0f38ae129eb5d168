import { type HistoryDb, openHistoryDb } from '../../src/history/db.ts';
import { createScratchDatabase } from './postgres.ts';

/**
 * The two history databases every history test runs on, through the same code path
 * (src/history/db.ts): the machine's PostgreSQL (a scratch database per test file) and the
 * embedded PGlite (in memory). `open` once per file (beforeAll); `close` drops what it made.
 */
export interface HistoryBackend {
  name: 'postgres' | 'pglite';
  open(): Promise<{ db: HistoryDb; close(): Promise<void> }>;
}

const throwIdleError = (err: Error) => {
  throw err;
};

export const HISTORY_BACKENDS: HistoryBackend[] = [
  {
    name: 'postgres',
    async open() {
      const scratch = await createScratchDatabase();
      const db = await openHistoryDb({ url: scratch.url }, throwIdleError);
      return {
        db,
        async close() {
          await db.close();
          await scratch.drop();
        },
      };
    },
  },
  {
    name: 'pglite',
    async open() {
      const db = await openHistoryDb({ memory: true }, throwIdleError);
      return { db, close: () => db.close() };
    },
  },
];
