import type { Connections } from '../connections.ts';
import { type ActionRegistry, createActionRegistry, defaultActionExecutors } from './actions/registry.ts';
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

/** The adapters of one process, built from its connections, and what they hold open. */
export interface Adapters {
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
  return {
    diagnostics: createDiagnosticRegistry([
      ...defaultDiagnosticExecutors,
      prometheusQueryExecutorFor(connections.prometheus),
      createLogSearchExecutor(connections.loki ? { loki: connections.loki } : {}),
    ]),
    actions: createActionRegistry([...defaultActionExecutors]),
    notifiers: createNotifierRegistry([
      createSlackNotifier(connections.slack),
      createPagerDutyNotifier(connections.pagerduty),
      createWebhookNotifier(connections.webhooks),
    ]),
    async close() {
      await Promise.all(closers.map((c) => c()));
    },
  };
}
