import express, { type Express } from 'express';
import type { ApiDeps, RouteModule } from './deps.ts';
import { errorHandler } from './http-errors.ts';
import { sendProblem } from './problem.ts';

// The types of `createApp`, for callers that build the app themselves (tests); defined in deps.ts.

/**
 * The express app, without `listen()`. Route modules are mounted in order; unknown routes and
 * every error end as `application/problem+json`.
 */
export function createApp(deps: ApiDeps, modules: readonly RouteModule[]): Express {
  const app = express();
  app.disable('x-powered-by');
  // API answers change with every event; an ETag costs a hash of each body and saves nothing.
  app.set('etag', false);
  app.set('trust proxy', false);
  for (const mod of modules) app.use(mod(deps));
  app.use((req, res) => sendProblem(res, 404, 'Not Found', `no route for ${req.method} ${req.path}`));
  app.use(errorHandler(deps.logger));
  return app;
}
