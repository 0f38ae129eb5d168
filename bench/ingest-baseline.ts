/**
 * The ingest bench's baseline API, run as its own process like Fireline's `--role api`: a bare
 * `node:http` handler (no express, no zod, no auth, no trigger matching, no tracing) that reads the
 * Alertmanager body, parses it (JSON.parse and the fields an incident needs), and does for each
 * alert the Redis work Fireline's intake does for a new alert — the same `store.openIncident`
 * (Lua OPEN: incident hash, indexes, dedup key, `incident.opened` event) and `queues.add('trigger')`
 * calls, on the same kind of connections — then answers 202 with the same body shape.
 *
 * Env: REDIS_URL, PORT, PREFIX. Prints "listening" on stdout once it takes requests.
 * Started by bench/ingest.ts (`node --import tsx bench/ingest-baseline.ts`).
 */
import { createServer } from 'node:http';
import { incidentKey } from '../src/engine/triggers.ts';
import type { Alert } from '../src/engine/types.ts';
import { newIncident, openedEvent } from '../src/incidents/intake.ts';
import { createLogger } from '../src/logger.ts';
import { jobIds } from '../src/queues/catalog.ts';
import { createQueues } from '../src/queues/queues.ts';
import { createRedis, waitReady } from '../src/redis/client.ts';
import { createIncidentStore } from '../src/store/incident-store.ts';
import { compileIngestRunbook, INGEST_PATH } from './ingest-fixtures.ts';

/** Go's zero time: the `endsAt` of a firing alert, left out of the stored alert as Fireline does. */
const ZERO_TIME_PREFIX = '0001-01-01';

interface AlertmanagerAlert {
  status?: Alert['status'];
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
  fingerprint: string;
}

const redisUrl = process.env.REDIS_URL!;
const prefix = process.env.PREFIX!;
const port = Number(process.env.PORT);
// The runbook the Fireline API would match, taken as it is: no matching per alert.
const runbook = compileIngestRunbook().runbook;
// As src/process/pipeline.ts builds them: two producer connections, the same events cap.
const redis = createRedis(redisUrl, 'producer');
const queueConnection = createRedis(redisUrl, 'producer');
const store = createIncidentStore({ redis, prefix, eventsMaxLen: 10_000 });
const queues = createQueues(queueConnection, prefix, createLogger({ level: 'silent' }));

/** What Fireline's intake does for a new firing alert, minus the trigger matching. */
async function intake(raw: AlertmanagerAlert, groupStatus: Alert['status']) {
  const alert: Alert = {
    source: 'alertmanager',
    status: raw.status ?? groupStatus,
    labels: raw.labels,
    annotations: raw.annotations ?? {},
    fingerprint: raw.fingerprint,
    startsAt: raw.startsAt,
  };
  if (raw.endsAt && !raw.endsAt.startsWith(ZERO_TIME_PREFIX)) alert.endsAt = raw.endsAt;
  if (raw.generatorURL) alert.generatorURL = raw.generatorURL;
  const incident = newIncident(runbook, alert, incidentKey(runbook, alert), new Date(), false);
  const opened = await store.openIncident(incident, openedEvent(runbook, alert, 'alert:alertmanager'));
  if (!opened.created) return { outcome: 'attached', runbookId: runbook.id, incidentId: opened.incidentId };
  await queues.add('trigger', { incidentId: incident.id }, { jobId: jobIds.trigger(incident.id) });
  return { outcome: 'opened', runbookId: runbook.id, incidentId: incident.id };
}

async function handle(text: string): Promise<string> {
  const group = JSON.parse(text) as { status: Alert['status']; alerts: AlertmanagerAlert[] };
  const outcomes = await Promise.all(group.alerts.map((a) => intake(a, group.status)));
  const results = group.alerts.map((a, i) => ({
    fingerprint: a.fingerprint,
    alertname: a.labels.alertname ?? null,
    status: a.status ?? group.status,
    outcomes: [outcomes[i]],
  }));
  return JSON.stringify({ accepted: results.length, results, rejected: [] });
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== INGEST_PATH) {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    handle(Buffer.concat(chunks).toString('utf8')).then(
      (body) => {
        res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
      (err: unknown) => {
        process.stderr.write(`baseline intake failed: ${String(err)}\n`);
        res.writeHead(503).end();
      },
    );
  });
});

await Promise.all([waitReady(redis), waitReady(queueConnection)]);
server.listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void Promise.allSettled([queues.close()]).then(async () => {
    await Promise.all([redis.quit(), queueConnection.quit()]);
    process.exit(0);
  });
});
