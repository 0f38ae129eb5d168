import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import type { ApiDeps, RouteModule } from './deps.ts';
import { forgeryGuard } from './forgery-guard.ts';
import { errorHandler } from './http-errors.ts';
import { type Handover, handoverOf, type PreRoute, setHandover } from './pre-route.ts';
import { sendProblem } from './problem.ts';

/**
 * The express app, without `listen()`. Forged requests are refused first; then route modules are
 * mounted in order; unknown routes and every error end as `application/problem+json`. Modules'
 * pre-routes (src/producer/pre-route.ts) see each request before express does.
 */
export function createApp(deps: ApiDeps, modules: readonly RouteModule[]): Express {
  const app = express();
  app.disable('x-powered-by');
  // API answers change with every event; an ETag costs a hash of each body and saves nothing.
  app.set('etag', false);
  app.set('trust proxy', false);
  const preRoutes = modules.flatMap((mod) => (mod.preRoute ? [mod.preRoute(deps)] : []));
  if (preRoutes.length > 0) {
    // A failure a pre-route handed over goes to the error handler, as it would from its route.
    app.use(handedOverError);
    takeFirst(app, preRoutes);
  }
  app.use(forgeryGuard(deps));
  for (const mod of modules) app.use(mod(deps));
  app.use((req, res) => sendProblem(res, 404, 'Not Found', `no route for ${req.method} ${req.path}`));
  app.use(errorHandler(deps.logger));
  return app;
}

const handedOverError: RequestHandler = (req, _res, next) => {
  const handover = handoverOf(req);
  // As express does with a route's rejected promise.
  if (handover) return next(handover.error || new Error('Rejected promise'));
  next();
};

type Handle = (req: IncomingMessage, res: ServerResponse, callback?: (err?: unknown) => void) => void;

/**
 * Offers every request to the pre-routes before express: `app.handle` is where express takes a
 * request (from `app.listen`'s server, `http.createServer(app)` and a parent app alike).
 */
function takeFirst(app: Express, preRoutes: readonly PreRoute[]): void {
  const target = app as unknown as { handle: Handle };
  const viaExpress = target.handle;
  target.handle = function handle(this: unknown, req, res, callback) {
    const toExpress = (handover?: Handover) => {
      if (handover) setHandover(req, handover);
      viaExpress.call(this, req, res, callback);
    };
    for (const preRoute of preRoutes) if (preRoute(req, res, toExpress)) return;
    viaExpress.call(this, req, res, callback);
  };
}
