import { Router } from 'express';
import { z } from 'zod';
import { createSetupReports } from '../../incidents/setup.ts';
import { authEnabled, requireScope } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';

/**
 * `GET /api/v1/setup`: the `fireline doctor` report of this process (src/incidents/doctor.ts), for
 * the console's Setup page and the incident page's "not wired" banner. A report is kept for a
 * minute; `?fresh=true` makes a new one (callers at the same moment share it). Viewer scope: it
 * reads, and names variables, never their values.
 */
export function setupRoutes(deps: ApiDeps): Router {
  const router = Router();
  const reports = createSetupReports(deps.pipeline.deps, {
    runbookPaths: deps.runbookPaths,
    tokens: authEnabled(deps.auth),
  });
  const Query = z.object({ fresh: z.enum(['true', 'false']).default('false') });
  router.get('/api/v1/setup', requireScope(deps.auth, 'viewer'), async (req, res) => {
    const { fresh } = Query.parse(req.query);
    res.json(await reports.get({ fresh: fresh === 'true' }));
  });
  return router;
}
