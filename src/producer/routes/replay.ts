import { type RequestHandler, Router } from 'express';
import { z } from 'zod';
import { decidedAt, replayIncident, testCaseFromIncident } from '../../engine/replay.ts';
import { testCaseYaml } from '../../engine/runbook-test-yaml.ts';
import { InvalidOperationError, NotFoundError } from '../../errors.ts';
import { findIncident, findTimeline } from '../../incidents/archive.ts';
import type { PipelineDeps } from '../../incidents/deps.ts';
import { requireScope } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { redisErrorsAs503, requireRedis } from '../http-errors.ts';

/**
 * `GET /api/v1/incidents/:id/replay`: the incident as a runbook test case (src/engine/replay.ts),
 * as an object and as YAML to put under `cases:`, and what the runbook loaded now decides from the
 * same recorded facts beside what was recorded. 404 for an unknown incident; 409 while it is not
 * decided or once its runbook is no longer loaded.
 */

const Params = z.object({ id: z.string().min(1).max(200) });

export function replayRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get(
    '/api/v1/incidents/:id/replay',
    requireScope(deps.auth, 'viewer'),
    requireRedis(deps),
    getReplay(deps.pipeline.deps),
  );
  router.use(redisErrorsAs503(deps));
  return router;
}

function getReplay(p: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const { id } = Params.parse(req.params);
    const incident = await findIncident(p, id);
    if (!incident) throw new NotFoundError(`incident '${id}'`);
    const compiled = p.catalog.get(incident.runbookId);
    if (!compiled)
      throw new InvalidOperationError(
        `runbook '${incident.runbookId}' of incident '${id}' is no longer loaded: there is nothing to replay it against`,
      );
    const decided = decidedAt(await findTimeline(p, id));
    const replay = replayIncident(incident, compiled, decided);
    const testCase = testCaseFromIncident(incident, compiled.runbook, decided);
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      incidentId: incident.id,
      runbookId: compiled.runbook.id,
      decidedAt: replay.now,
      testCase,
      testCaseYaml: testCaseYaml(testCase),
      recorded: replay.recorded,
      current: replay.current,
      differences: replay.differences,
      caveats: replay.caveats,
    });
  };
}
