import type { Connections } from '../adapters/connections.ts';
import { findProgram, notifyTargetSource, probeKubectl } from '../adapters/probes.ts';
import { type Need, needKey, runbookNeeds } from '../engine/runbook-needs.ts';
import type { Path } from '../engine/type-spec.ts';
import { AdapterError } from '../errors.ts';
import { redisAnswers } from '../redis/launcher.ts';
import { check, type DoctorCheck, type DoctorSources, type Probe } from './doctor-report.ts';
import { type DoctorRunbook, placeOf } from './doctor-runbooks.ts';

/** One check per connection the runbooks use: configured, and answering a read-only question. */

/** A need with every place a runbook asks for it. */
interface Used {
  need: Need;
  places: { runbook: DoctorRunbook; path: Path }[];
}

/** The needs of all `runbooks`, one per connection, in first-use order. */
export function usedConnections(runbooks: readonly DoctorRunbook[]): Used[] {
  const byKey = new Map<string, Used>();
  for (const runbook of runbooks)
    for (const need of runbookNeeds(runbook.compiled.runbook)) {
      const key = needKey(need);
      const used = byKey.get(key) ?? { need, places: [] };
      used.places.push({ runbook, path: need.path });
      byKey.set(key, used);
    }
  return [...byKey.values()];
}

/** The check's id for a need: `connection.prometheus`, `connection.database:payments`, … */
export const connectionCheckId = (need: Pick<Need, 'kind' | 'name'>) => `connection.${needKey(need)}`;

/** What a need is called, and what to set when it is missing (FIRELINE_CONFIG named as `file`). */
export function wiring(need: Pick<Need, 'kind' | 'name'>, file: string): { title: string; fix: string } {
  const { kind, name } = need;
  switch (kind) {
    case 'prometheus':
      return { title: 'Prometheus', fix: `PROMETHEUS_URL (or connections.prometheus.url in ${file})` };
    case 'loki':
      return { title: 'Loki', fix: `LOKI_URL (or connections.loki.url in ${file})` };
    case 'database':
      return {
        title: `Database ${name}`,
        fix:
          name === 'default'
            ? `DATABASE_URL (or connections.databases.default.url in ${file})`
            : `connections.databases.${name}.url in ${file}`,
      };
    case 'redis':
      return { title: `Redis target ${name}`, fix: `connections.redis.${name}.url in ${file}` };
    case 'kubernetes':
      return {
        title: 'kubectl context',
        fix: `KUBECONFIG, or connections.kubernetes (kubectl, kubeconfig, context) in ${file}`,
      };
    case 'program':
      return { title: `Program ${name}`, fix: `install ${name} on Fireline's PATH` };
    case 'slack':
      return {
        title: `Slack ${name}`,
        fix: `SLACK_WEBHOOK_URL (every channel), or connections.slack.webhooks['${name}'] in ${file}`,
      };
    case 'pagerduty':
      return {
        title: `PagerDuty ${name}`,
        fix: `PAGERDUTY_ROUTING_KEY (every service), or connections.pagerduty.routingKeys.${name} in ${file}`,
      };
    case 'webhook':
      return { title: `Webhook ${name}`, fix: `connections.webhooks.${name}.url in ${file}` };
  }
}

/** Whether `need` has its connection at all (programs and kubectl are found by their probe). */
export function configured(need: Pick<Need, 'kind' | 'name'>, c: Connections): boolean {
  switch (need.kind) {
    case 'prometheus':
      return c.prometheus !== undefined;
    case 'loki':
      return c.loki !== undefined;
    case 'database':
      return c.databases[need.name] !== undefined;
    case 'redis':
      return c.redis[need.name] !== undefined;
    case 'slack':
    case 'pagerduty':
    case 'webhook':
      return notifyTargetSource(c, need.kind, need.name) !== undefined;
    case 'kubernetes':
    case 'program':
      return true;
  }
}

export function connectionChecks(sources: DoctorSources): Probe[] {
  return usedConnections(sources.runbooks).map((used) => (signal) => probeConnection(used, sources, signal));
}

async function probeConnection(
  used: Used,
  sources: DoctorSources,
  signal: AbortSignal,
): Promise<DoctorCheck> {
  const { need, places } = used;
  const { title, fix } = wiring(need, sources.configFile);
  const runbooks = [...new Set(places.map((p) => p.runbook.compiled.runbook.id))];
  const first = places[0]!;
  const usedAt = `used at ${placeOf(first.runbook, first.path)}${places.length > 1 ? ` and ${places.length - 1} more` : ''}`;
  const base = { id: connectionCheckId(need), group: 'connections' as const, title, runbooks };
  const result = (status: DoctorCheck['status'], detail: string, missing = false) =>
    status === 'ok'
      ? check({ ...base, status, detail })
      : check({ ...base, status, detail: `${detail} (${usedAt})`, missing, fix });
  const { connections: c, diagnostics } = sources;
  if (!configured(need, c)) return result('fail', 'not configured', true);
  const ctx = { signal, timeoutMs: 10_000 };
  try {
    switch (need.kind) {
      case 'prometheus': {
        await diagnostics.run('prometheus_query', { query: 'vector(1)' }, ctx);
        return result('ok', 'answered the query vector(1)');
      }
      case 'loki': {
        await diagnostics.run(
          'log_search',
          { source: 'loki', query: '{job=~".+"}', sinceMinutes: 1, limit: 1 },
          ctx,
        );
        return result('ok', 'answered a query over the last minute');
      }
      case 'database': {
        await diagnostics.run('database_query', { database: need.name, query: 'SELECT 1' }, ctx);
        return result('ok', 'answered a read-only query');
      }
      case 'redis':
        return (await redisAnswers(c.redis[need.name]!.url, 2000))
          ? result('ok', 'answers PING')
          : result('fail', 'does not answer PING');
      case 'kubernetes': {
        const k = await probeKubectl(c.kubernetes, signal);
        return k.ok
          ? result('ok', `${c.kubernetes.kubectl}: context ${k.context}`)
          : result('fail', k.message, k.missing);
      }
      case 'program': {
        const found = await findProgram(need.name);
        return found
          ? result('ok', `found at ${found}`)
          : result('fail', "not found on Fireline's PATH", true);
      }
      case 'slack':
      case 'pagerduty':
      case 'webhook':
        return result('ok', `configured: ${notifyTargetSource(c, need.kind, need.name)} (nothing sent)`);
    }
  } catch (err) {
    if (!(err instanceof AdapterError)) throw err;
    return result('fail', err.message);
  }
}
