import express, { type Express } from 'express';
import type { ApiDeps, RouteModule } from './deps.ts';
import { forgeryGuard } from './forgery-guard.ts';
import { errorHandler } from './http-errors.ts';
import { sendProblem } from './problem.ts';

/**
 * The express app, without `listen()`. Forged requests are refused first; then route modules are
 * mounted in order; unknown routes and every error end as `application/problem+json`.
 */
export function createApp(deps: ApiDeps, modules: readonly RouteModule[]): Express {
  const app = express();
  app.disable('x-powered-by');
  // API answers change with every event; an ETag costs a hash of each body and saves nothing.
  app.set('etag', false);
  app.set('trust proxy', false);
  app.use(forgeryGuard(deps));
  for (const mod of modules) app.use(mod(deps));
  app.use((req, res) => sendProblem(res, 404, 'Not Found', `no route for ${req.method} ${req.path}`));
  app.use(errorHandler(deps.logger));
  return app;
}
