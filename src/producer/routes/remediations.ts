import { Router } from 'express';
import { setRemediationsPaused } from '../../incidents/operations.ts';
import { actorOf, requireScope } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { redisErrorsAs503, requireRedis } from '../http-errors.ts';

/** The job states shown by `GET /api/v1/remediations`. */
const COUNTED = [
  'waiting',
  'active',
  'delayed',
  'completed',
  'failed',
  'prioritized',
  'waiting-children',
] as const;

/**
 * The global kill switch: pausing the remediations queue stops every worker, in every process,
 * from starting an action (running ones finish). State lives in Redis, so all processes agree.
 */
export function remediationRoutes(deps: ApiDeps): Router {
  const router = Router();
  const p = deps.pipeline.deps;
  const act = [requireScope(deps.auth, 'operator'), requireRedis(deps)];

  router.get(
    '/api/v1/remediations',
    requireScope(deps.auth, 'viewer'),
    requireRedis(deps),
    async (_req, res) => {
      const queue = p.queues.byName.remediations;
      const [paused, counts] = await Promise.all([queue.isPaused(), queue.getJobCounts(...COUNTED)]);
      res.json({ paused, counts });
    },
  );

  router.post('/api/v1/remediations/pause', ...act, async (_req, res) => {
    const result = await setRemediationsPaused(p, true);
    deps.logger.warn({ actor: actorOf(res) }, 'remediations paused');
    res.json(result);
  });

  router.post('/api/v1/remediations/resume', ...act, async (_req, res) => {
    const result = await setRemediationsPaused(p, false);
    deps.logger.warn({ actor: actorOf(res) }, 'remediations resumed');
    res.json(result);
  });

  router.use(redisErrorsAs503(deps));
  return router;
}
