import { type RequestHandler, Router } from 'express';
import { z } from 'zod';
import { SeveritySchema } from '../../engine/runbook-schema.ts';
import type { HistoryStore } from '../../history/history-store.ts';
import type { HistoryFilter } from '../../history/incident-filter.ts';
import { decodeCursor, MAX_SEARCH_WORDS, searchHistory, searchWords } from '../../history/search.ts';
import { historyStats } from '../../history/stats.ts';
import type { PipelineDeps } from '../../incidents/deps.ts';
import { requireScope } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { sendProblem } from '../problem.ts';

/**
 * What the incident history answers beyond one incident: the effectiveness statistics of the
 * runbooks (`GET /api/v1/stats`) and the search of past incidents (`GET /api/v1/history`). Both
 * read PostgreSQL only, so they answer while Redis is down; with the history off they answer 409
 * saying how to turn it on.
 */

/** The range `GET /api/v1/stats` covers when the query names none. */
export const DEFAULT_STATS_WEEKS = 12;
const WEEK_MS = 7 * 24 * 3600 * 1000;

const Time = z.iso.datetime({
  offset: true,
  error: 'expected an ISO-8601 time such as 2026-12-01T00:00:00Z',
});
const Name = z.string().min(1).max(200);

const Filter = z.object({
  from: Time.optional(),
  to: Time.optional(),
  runbook: Name.optional(),
  service: Name.optional(),
  severity: SeveritySchema.optional(),
});

const StatsQuery = Filter;

const HistoryQuery = Filter.extend({
  q: z
    .string()
    .max(500)
    .refine((q) => searchWords(q).length <= MAX_SEARCH_WORDS, {
      error: `expected at most ${MAX_SEARCH_WORDS} words`,
    })
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .refine((c) => decodeCursor(c) !== null, { error: 'expected the nextCursor of a previous page' })
    .optional(),
});

/** Routes under `/api/v1/stats` and `/api/v1/history`. */
export function historyRoutes(deps: ApiDeps): Router {
  const router = Router();
  const p = deps.pipeline.deps;
  const viewer = requireScope(deps.auth, 'viewer');
  router.get('/api/v1/stats', viewer, withHistory(p, getStats));
  router.get('/api/v1/history', viewer, withHistory(p, searchIncidents));
  return router;
}

type HistoryHandler = (
  p: PipelineDeps,
  history: HistoryStore,
  ...rest: Parameters<RequestHandler>
) => unknown;

/** The handler with the history; 409 while it is off, whose detail says how to turn it on. */
function withHistory(p: PipelineDeps, handler: HistoryHandler): RequestHandler {
  return (req, res, next) => {
    if (p.history) return handler(p, p.history, req, res, next);
    sendProblem(
      res,
      409,
      'Conflict',
      'the incident history is off (FIRELINE_HISTORY=off), so there are no statistics or past incidents to ' +
        'read. Turn it on with FIRELINE_HISTORY=on and DATABASE_URL=postgres://… (a PostgreSQL every ' +
        'Fireline process reaches; a single `fireline start` may leave DATABASE_URL unset for the ' +
        'embedded database in FIRELINE_DATA_DIR/history), then restart Fireline.',
    );
  };
}

/** The range a query names, defaulting to the 12 weeks up to now; `from` must come before `to`. */
function statsRange(q: z.infer<typeof StatsQuery>, now: Date): { from: string; to: string } {
  const to = q.to ? new Date(q.to) : now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - DEFAULT_STATS_WEEKS * WEEK_MS);
  if (!(from < to)) throw badField('from', 'must be before to (default: now)');
  return { from: from.toISOString(), to: to.toISOString() };
}

/** A query field that is well-formed but wrong with the others: a 400 naming it, as a schema error is. */
function badField(field: string, message: string): z.ZodError {
  return new z.ZodError([{ code: 'custom', path: [field], message, input: undefined }]);
}

/** The runbooks the catalog holds that the filter could select (for `coverage.neverFired`). */
function knownRunbooks(p: PipelineDeps, f: HistoryFilter): string[] {
  return p.catalog
    .all()
    .filter(
      ({ runbook: r }) =>
        (f.runbook === undefined || r.id === f.runbook) &&
        (f.service === undefined || r.service === f.service) &&
        (f.severity === undefined || r.severity === f.severity),
    )
    .map(({ runbook: r }) => r.id);
}

const defined = <T extends object>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** `GET /api/v1/stats?from=&to=&runbook=&service=&severity=`: the effectiveness statistics. */
const getStats: HistoryHandler = async (p, history, req, res) => {
  const q = StatsQuery.parse(req.query);
  const filter: HistoryFilter = defined({ ...q, ...statsRange(q, p.now()) });
  res.json(await historyStats(history, filter, knownRunbooks(p, filter)));
};

/** `GET /api/v1/history?q=&from=&to=&runbook=&service=&severity=&limit=&cursor=`: past incidents, newest first. */
const searchIncidents: HistoryHandler = async (_p, history, req, res) => {
  const q = HistoryQuery.parse(req.query);
  if (q.from && q.to && !(Date.parse(q.from) < Date.parse(q.to))) throw badField('from', 'must be before to');
  res.json(await searchHistory(history, defined(q)));
};
