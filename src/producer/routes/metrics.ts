import { Router } from 'express';
import { requireScope } from '../auth.ts';
import type { RouteModule } from '../deps.ts';
import type { Metrics } from '../metrics.ts';

/**
 * `GET /metrics`: the Prometheus text of `metrics.registry` (viewer scope when auth is on; give
 * Prometheus the viewer token as `authorization: { credentials: … }`). The caller starts and stops
 * `metrics`; this module only serves it.
 */
export function metricsRoutes(metrics: Metrics): RouteModule {
  return (deps) => {
    const router = Router();
    router.get('/metrics', requireScope(deps.auth, 'viewer'), async (_req, res) => {
      const body = await metrics.registry.metrics();
      res.setHeader('Content-Type', metrics.registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.send(body);
    });
    return router;
  };
}
