import { Router } from 'express';
import type { ApiDeps } from '../deps.ts';
import { RETRY_AFTER_SECONDS } from '../http-errors.ts';
import { sendProblem } from '../problem.ts';

/** How long /readyz waits for Redis to answer PING before it calls Redis unreachable. */
export const READY_PING_TIMEOUT_MS = 1000;

/** Resolves with why Redis is not usable, or null when it answered PING in time. */
async function redisProblem(deps: ApiDeps): Promise<string | null> {
  const { redis } = deps.pipeline.deps;
  // The producer connection never queues commands: not ready means a PING would only fail.
  if (redis.status !== 'ready') return `redis connection is ${redis.status}`;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), READY_PING_TIMEOUT_MS);
  });
  try {
    const answer = await Promise.race([redis.ping(), timedOut]);
    return answer === 'timeout' ? `redis did not answer PING within ${READY_PING_TIMEOUT_MS} ms` : null;
  } catch (err) {
    // The answer stays vague (the route has no auth); the log has the cause.
    deps.logger.warn({ err }, 'readiness: redis PING failed');
    return 'redis PING failed';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `GET /healthz` (liveness: the process serves HTTP) and `GET /readyz` (readiness: Redis answers
 * and runbooks are loaded, so alerts sent here can be taken). No auth: probes and load balancers
 * call them, and they reveal nothing but counts.
 */
export function healthRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const problems: string[] = [];
    const redis = await redisProblem(deps);
    if (redis) problems.push(redis);
    const runbooks = deps.pipeline.deps.catalog.all().length;
    if (runbooks === 0) problems.push('no runbooks are loaded');
    if (problems.length > 0) {
      res.setHeader('Cache-Control', 'no-store');
      return sendProblem(res, 503, 'Service Unavailable', `not ready: ${problems.join('; ')}`, {
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ready', redis: 'ok', runbooks });
  });
  return router;
}
