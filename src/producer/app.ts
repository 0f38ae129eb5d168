import express, { type Express, type Router } from 'express';
import type { Core } from '../incidents/core.ts';
import type { Logger } from '../logger.ts';
import type { AuthConfig } from './auth.ts';
import { errorHandler, sendProblem } from './http-errors.ts';

/** What the HTTP app needs; built by the entry point, or by a test on port 0. */
export interface ApiDeps {
  pipeline: Core;
  auth: AuthConfig;
  logger: Logger;
  /** Largest accepted body, in bytes (default 1 MiB). */
  bodyLimitBytes?: number;
  /** Verifies X-Grafana-Alerting-Signature when set. */
  grafanaSecret?: string;
  /** Verifies Slack interactivity requests; the endpoint answers 404 when unset. */
  slackSigningSecret?: string;
  /** Where runbooks are loaded from, for `POST /api/v1/runbooks/reload`. */
  runbookPaths: readonly string[];
  /** The clock (Slack request timestamps). */
  now?: () => Date;
  /** Interval of the SSE `: ping` comment (default 15 s); short in tests. */
  sseHeartbeatMs?: number;
}

/** A group of routes mounted by the app; each module exports one. */
export type RouteModule = (deps: ApiDeps) => Router;

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

/** JSON body parser with the configured limit; raw bytes kept on `req` for signature checks. */
export function jsonBody(deps: ApiDeps) {
  return express.json({
    limit: deps.bodyLimitBytes ?? 1024 * 1024,
    verify: (req, _res, buf) => {
      (req as unknown as { rawBody: Buffer }).rawBody = buf;
    },
  });
}
