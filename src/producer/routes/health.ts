import { Router } from 'express';
import { storeKeys } from '../../store/keys.ts';
import type { ApiDeps } from '../deps.ts';
import { RETRY_AFTER_SECONDS } from '../http-errors.ts';
import { sendProblem } from '../problem.ts';

/** How long /readyz waits for Redis to take its probe write before it calls Redis unreachable. */
export const READY_PING_TIMEOUT_MS = 1000;

/**
 * Resolves with why Redis cannot take alerts, or null when it took a probe write in time. A write,
 * not a PING: a replica answers PING, and so does a Cluster whose node for Fireline's slot is down
 * — alerts need a primary (during a failover there is none, and the probe fails until one is).
 */
async function redisProblem(deps: ApiDeps): Promise<string | null> {
  const { redis } = deps.pipeline.deps;
  // The producer connection never queues commands: not ready means the probe would only fail.
  if (redis.status !== 'ready') return `redis connection is ${redis.status}`;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), READY_PING_TIMEOUT_MS);
  });
  const probe = storeKeys(deps.pipeline.deps.queues.prefix).marker('ready');
  try {
    const answer = await Promise.race([redis.set(probe, '1', 'PX', 60_000), timedOut]);
    return answer === 'timeout' ? `redis did not take a write within ${READY_PING_TIMEOUT_MS} ms` : null;
  } catch (err) {
    if (/^READONLY/.test((err as Error).message)) return 'redis answers as a replica: there is no primary';
    // The answer stays vague (the route has no auth); the log has the cause.
    deps.logger.warn({ err }, 'readiness: the redis probe write failed');
    return 'redis refused the probe write';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `GET /healthz` (liveness: the process serves HTTP) and `GET /readyz` (readiness: a Redis primary takes writes
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
