import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A JSON request (as the console sends it); returns the status, the parsed body (or text) and the headers. */
export async function call(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string } = {},
  // biome-ignore lint/suspicious/noExplicitAny: assertions read JSON answers of many shapes
): Promise<{ status: number; body: any; headers: Headers; text: string }> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  // As the console and the CLI do: the API refuses a body-less POST without it (forged forms).
  if (method !== 'GET') headers['x-fireline-request'] = '1';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  const body = /json/.test(type) ? JSON.parse(text) : text;
  return { status: res.status, body, headers: res.headers, text };
}

/** A file that the test runbook's actions append to, and what they wrote. */
export function actionMarker(): { path: string; ran(): string[] } {
  const path = join(mkdtempSync(join(tmpdir(), 'fireline-api-')), 'actions.log');
  return {
    path,
    ran() {
      try {
        return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
    },
  };
}

/**
 * A payment runbook whose one check is a local process reporting `dbPercent`: at 90 or more the
 * plan is an automated fix, a fix that needs approval, and a manual check (awaiting approval).
 */
export function apiRunbook(opts: {
  marker: string;
  dbPercent?: number;
  id?: string;
  service?: string;
  severity?: string;
}): string {
  const id = opts.id ?? 'payment-service-slow';
  const append = (word: string) =>
    `[node, -e, "require('fs').appendFileSync(process.argv[1], '${word}\\\\n')", "${opts.marker}"]`;
  return `
id: ${id}
name: Payment Service High Latency
description: p99 latency of the payment API is high
severity: ${opts.severity ?? 'P1'}
service: ${opts.service ?? 'payment-service'}
triggers:
  - type: alert
    alertName: PaymentServiceHighLatency
diagnostics:
  - id: check_db_connections
    name: Database connections
    description: How full the connection pool is
    type: shell_command
    timeout: 10
    config:
      command: [node, -e, "console.log(JSON.stringify({ used_pct: ${opts.dbPercent ?? 96} }))"]
    interpret:
      critical: "json.used_pct >= 90"
      healthy: "json.used_pct < 90"
decisionTree:
  - condition: "diagnostics.check_db_connections.status == 'critical'"
    then: [kill_idle_connections, rollback_deployment, check_dashboards]
    description: Database pool exhausted
remediations:
  - id: kill_idle_connections
    name: Kill idle connections
    type: automated
    action:
      type: run_script
      config:
        command: ${append('kill')}
  - id: rollback_deployment
    name: Roll back
    type: automated
    requiresApproval: true
    action:
      type: run_script
      config:
        command: ${append('rollback')}
  - id: check_dashboards
    name: Check the dashboards
    type: manual
    instructions: Open the payment dashboard and compare p99 with last week.
escalation:
  primary: "#incidents-payment"
  escalateAfterMinutes: 15
`;
}
