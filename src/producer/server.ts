import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import type { ApiDeps, RouteModule } from './deps.ts';
import type { Metrics } from './metrics.ts';
import { alertRoutes } from './routes/alerts.ts';
import { bullBoardRoutes } from './routes/bull-board.ts';
import { consoleRoutes } from './routes/console.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { historyRoutes } from './routes/history.ts';
import { incidentRoutes } from './routes/incidents.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { remediationRoutes } from './routes/remediations.ts';
import { replayRoutes } from './routes/replay.ts';
import { runbookRoutes } from './routes/runbooks.ts';
import { setupRoutes } from './routes/setup.ts';
import { slackRoutes } from './routes/slack.ts';
import { closeAllStreams } from './sse.ts';

/**
 * Every route module of the API process, in mount order. The alert webhooks first: they take most
 * requests, and no other module answers their paths (nor has middleware for every path before them).
 */
export function apiModules(metrics: Metrics): RouteModule[] {
  return [
    alertRoutes,
    healthRoutes,
    metricsRoutes(metrics),
    incidentRoutes,
    replayRoutes,
    eventRoutes,
    historyRoutes,
    runbookRoutes,
    setupRoutes,
    remediationRoutes,
    slackRoutes,
    bullBoardRoutes,
    consoleRoutes,
  ];
}

export interface HttpServer {
  server: Server;
  /** `http://host:port` as bound (the real port when 0 was asked). */
  url: string;
  /** Stops accepting, ends SSE streams (clients resume elsewhere with Last-Event-ID), waits for the rest. */
  close(): Promise<void>;
}

/** Builds the full app and listens on `host:port`. */
export async function listen(
  deps: ApiDeps,
  metrics: Metrics,
  host: string,
  port: number,
): Promise<HttpServer> {
  const app = createApp({ ...deps, onAlertRejected: metrics.alertRejected }, apiModules(metrics));
  const server = createServer(app);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${shownHost}:${bound}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        closeAllStreams();
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
