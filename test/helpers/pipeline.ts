import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCatalog } from '../../src/engine/catalog.ts';
import { parseRunbook } from '../../src/engine/runbook-parse.ts';
import type { Alert, TimelineEvent } from '../../src/engine/types.ts';
import { createLogger } from '../../src/logger.ts';
import { createPipeline, type Pipeline, type PipelineOptions } from '../../src/process/pipeline.ts';
import type { WorkerSettings } from '../../src/workers/index.ts';

/** Compiles runbook YAML texts, failing loudly with every located issue. */
export function compileYaml(...texts: string[]) {
  return texts.map((text, i) => {
    const parsed = parseRunbook(text, `test-runbook-${i}.yaml`);
    if (!parsed.ok)
      throw new Error(
        `test runbook does not load:\n${parsed.issues.map((x) => `${x.line}: ${x.path}: ${x.message}`).join('\n')}`,
      );
    return parsed.compiled;
  });
}

export const FAST_WORKERS: WorkerSettings = {
  diagnosticConcurrency: 20,
  remediationRatePerMinute: 1000,
  remediationConcurrency: 5,
};

/** A pipeline on the run's private Redis with its own prefix; close it in afterEach. */
export async function testPipeline(
  redisUrl: string,
  runbookYaml: string[],
  extra: Partial<PipelineOptions> = {},
): Promise<Pipeline> {
  const pipeline = createPipeline({
    redisUrl,
    prefix: `t${randomUUID().slice(0, 8)}`,
    catalog: createCatalog(compileYaml(...runbookYaml)),
    logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    dryRun: false,
    ...extra,
  });
  await pipeline.ready();
  return pipeline;
}

export function firingAlert(labels: Record<string, string>, fingerprint = randomUUID().slice(0, 16)): Alert {
  return {
    source: 'alertmanager',
    status: 'firing',
    labels,
    annotations: {},
    fingerprint,
    startsAt: new Date().toISOString(),
  };
}

/**
 * Follows an incident's timeline from the start and resolves with every event up to and including
 * the first that satisfies `until`; rejects after `timeoutMs` naming what it saw.
 */
export async function eventsUntil(
  pipeline: Pipeline,
  incidentId: string,
  until: (e: TimelineEvent, seen: TimelineEvent[]) => boolean,
  timeoutMs = 15_000,
): Promise<TimelineEvent[]> {
  const seen: TimelineEvent[] = [];
  let handle: { stop(): Promise<void> } | undefined;
  let done = false;
  try {
    return await new Promise<TimelineEvent[]>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`timed out; events seen:\n${seen.map((e) => `${e.type}: ${e.message}`).join('\n')}`),
          ),
        timeoutMs,
      );
      pipeline.progress
        .follow(incidentId, '0', (e) => {
          if (done) return;
          seen.push(e);
          if (until(e, seen)) {
            // Events the follower delivers before it is stopped are not part of the answer: it
            // ends with the first event that satisfied `until`, as documented.
            done = true;
            clearTimeout(timer);
            resolve([...seen]);
          }
        })
        .then((h) => {
          handle = h;
        }, reject);
    });
  } finally {
    await handle?.stop();
  }
}

/** An HTTP server on loopback whose handler the test controls; records every request path. */
export async function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
