// The one place executors that need connections are registered (the others are in
// diagnostics/registry.ts and actions/registry.ts, whose top comments say what adding a kind takes).
import { createFlushCacheAction } from './actions/flush-cache.ts';
import { createKubernetesActions } from './actions/kubernetes.ts';
import { createNotifyAction } from './actions/notify.ts';
import { type ActionRegistry, createActionRegistry } from './actions/registry.ts';
import { createRunScriptAction } from './actions/run-script.ts';
import type { Connections } from './connections.ts';
import { createDatabaseQueryExecutor } from './diagnostics/database-query.ts';
import { createLogSearchExecutor } from './diagnostics/log-search.ts';
import { prometheusQueryExecutorFor } from './diagnostics/prometheus-query.ts';
import {
  createDiagnosticRegistry,
  type DiagnosticRegistry,
  defaultDiagnosticExecutors,
} from './diagnostics/registry.ts';
import { createPagerDutyNotifier } from './notifiers/pagerduty.ts';
import { createNotifierRegistry, type NotifierRegistry } from './notifiers/registry.ts';
import { createSlackNotifier } from './notifiers/slack.ts';
import { createWebhookNotifier } from './notifiers/webhook.ts';
import { createPostgres } from './postgres.ts';

/** The adapters of one process, built from its connections, and what they hold open. */
export interface Adapters {
  /** The connections they were built from (`fireline doctor` checks them: src/incidents/doctor.ts). */
  connections: Connections;
  diagnostics: DiagnosticRegistry;
  actions: ActionRegistry;
  notifiers: NotifierRegistry;
  /** Closes pools and clients the adapters opened (database pools, cache clients). */
  close(): Promise<void>;
}

/**
 * Builds every adapter a deployment's connections enable. An adapter kind whose connection is
 * missing is still registered when it can explain itself (a clear "not configured" error at run
 * time is better at 3 AM than "no executor").
 */
export function createAdapters(connections: Connections): Adapters {
  const closers: (() => Promise<void>)[] = [];
  // Database pools and cache clients open on first use, so building adapters connects nothing.
  const postgres = createPostgres(connections.databases);
  const flushCache = createFlushCacheAction(connections.redis);
  closers.push(postgres.close, flushCache.close);
  const notifiers = createNotifierRegistry([
    createSlackNotifier(connections.slack),
    createPagerDutyNotifier(connections.pagerduty),
    createWebhookNotifier(connections.webhooks),
  ]);
  return {
    connections,
    diagnostics: createDiagnosticRegistry([
      ...defaultDiagnosticExecutors,
      prometheusQueryExecutorFor(connections.prometheus),
      createLogSearchExecutor(connections.loki ? { loki: connections.loki } : {}),
      createDatabaseQueryExecutor(postgres),
    ]),
    actions: createActionRegistry([
      createRunScriptAction({ postgres }),
      flushCache,
      ...createKubernetesActions(connections.kubernetes),
      createNotifyAction(notifiers),
    ]),
    notifiers,
    async close() {
      await Promise.all(closers.map((c) => c()));
    },
  };
}
