import type { ActionRegistry } from '../adapters/actions/registry.ts';
import type { DiagnosticRegistry } from '../adapters/diagnostics/registry.ts';
import type { NotifierRegistry } from '../adapters/notifiers/registry.ts';
import type { RunbookCatalog } from '../engine/catalog.ts';
import type { Logger } from '../logger.ts';
import type { Queues } from '../queues/queues.ts';
import type { RedisClient } from '../redis/client.ts';
import type { IncidentStore } from '../store/incident-store.ts';
import type { Safety } from '../store/safety.ts';

/** Everything the processors need, injected by the entry point (and by tests). */
export interface PipelineDeps {
  store: IncidentStore;
  safety: Safety;
  queues: Queues;
  catalog: RunbookCatalog;
  diagnostics: DiagnosticRegistry;
  actions: ActionRegistry;
  notifiers: NotifierRegistry;
  /** Where the console shows an incident, for links in notifications (e.g. http://host:3000). */
  publicUrl?: string;
  logger: Logger;
  /** The connection used for safety state and ad-hoc reads. */
  redis: RedisClient;
  /** Global dry-run (FIRELINE_DRY_RUN); a runbook may also ask for it. */
  dryRun: boolean;
  retentionDays: number;
  now(): Date;
}

export type { NewEvent } from '../store/incident-store.ts';
