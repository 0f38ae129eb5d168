import type { Router } from 'express';
import type { Core } from '../incidents/core.ts';
import type { Logger } from '../logger.ts';
import type { RejectReason, WebhookSource } from './alert-payloads.ts';
import type { AuthConfig } from './auth.ts';
import type { PreRoute } from './pre-route.ts';

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
  /** Slack user ids allowed to approve or reject with the buttons; unset: anyone in the workspace. */
  slackApprovers?: readonly string[];
  /** Where runbooks are loaded from, for `POST /api/v1/runbooks/reload`. */
  runbookPaths: readonly string[];
  /** The clock (Slack request timestamps). */
  now?: () => Date;
  /** Told of each alert a webhook rejected (the metrics count them; src/producer/server.ts wires it). */
  onAlertRejected?: (source: WebhookSource, reason: RejectReason) => void;
  /** Interval of the SSE `: ping` comment (default 15 s); short in tests. */
  sseHeartbeatMs?: number;
}

/**
 * A group of routes mounted by the app; each module exports one. A module on the hot path may also
 * offer a route taken before express (`preRoute`, src/producer/pre-route.ts).
 */
export type RouteModule = ((deps: ApiDeps) => Router) & { preRoute?: (deps: ApiDeps) => PreRoute };
