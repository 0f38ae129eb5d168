import type { ActionRegistry } from '../adapters/actions/registry.ts';
import type { Connections } from '../adapters/connections.ts';
import type { DiagnosticRegistry } from '../adapters/diagnostics/registry.ts';
import type { NotifierRegistry } from '../adapters/notifiers/registry.ts';
import type { RunbookCatalog } from '../engine/catalog.ts';
import type { NotificationPolicy } from '../engine/notification-policy.ts';
import type { HistoryStore } from '../history/history-store.ts';
import type { Logger } from '../logger.ts';
import type { Queues } from '../queues/queues.ts';
import type { RedisClient } from '../redis/client.ts';
import type { Durability } from '../redis/durability.ts';
import type { ArchiveFeed } from '../store/archive-feed.ts';
import type { ChartLinks } from '../store/chart-links.ts';
import type { IncidentStore } from '../store/incident-store.ts';
import type { NotifyHolds } from '../store/notify-holds.ts';
import type { Safety } from '../store/safety.ts';
import type { ThresholdState } from '../store/threshold-state.ts';

/**
 * Everything the incident layer needs, built by src/process/pipeline.ts (and by tests). The
 * processors and the HTTP routes pass it on; Redis is reached only through the stores here.
 */
export interface PipelineDeps {
  store: IncidentStore;
  safety: Safety;
  /** What metric_threshold triggers remember between polls. */
  thresholds: ThresholdState;
  /** Notifications held back per address after a 429. */
  holds: NotifyHolds;
  /** Signed links to chart images, for Slack (no token needed, one image each, until they expire). */
  chartLinks: ChartLinks;
  queues: Queues;
  /** What the history archive reads from Redis (changed incidents, alerts no runbook took). */
  feed: ArchiveFeed;
  /** What "stored" means before a 2xx or an action (src/redis/durability.ts). */
  durability: Durability;
  /**
   * The incident history in PostgreSQL (src/incidents/archive.ts writes it, the API reads it once
   * Redis has swept an incident); absent when the history is off.
   */
  history?: HistoryStore;
  catalog: RunbookCatalog;
  /** The adapters' connections, for the setup report (src/incidents/doctor.ts). */
  connections: Connections;
  diagnostics: DiagnosticRegistry;
  actions: ActionRegistry;
  notifiers: NotifierRegistry;
  /** Where the console shows an incident, for links in notifications (e.g. http://host:3000). */
  publicUrl?: string;
  logger: Logger;
  /** The request connection the stores above use; the HTTP layer reads its status (503 while down). */
  redis: RedisClient;
  /** The global notification policy (FIRELINE_NOTIFICATIONS); a runbook's own `notifications` win. */
  notifications?: NotificationPolicy;
  /** Global dry-run (FIRELINE_DRY_RUN); a runbook may also ask for it. */
  dryRun: boolean;
  retentionDays: number;
  now(): Date;
}

export type { NewEvent } from '../store/incident-store.ts';
