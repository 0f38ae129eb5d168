import type { Connections } from '../adapters/connections.ts';
import type { DiagnosticRegistry } from '../adapters/diagnostics/registry.ts';
import type { LocatedIssue } from '../engine/runbook-parse.ts';
import type { HistoryDb } from '../history/db.ts';
import type { RedisClient } from '../redis/client.ts';
import type { DoctorRunbook } from './doctor-runbooks.ts';

/** The setup report's shapes and what it is made from (src/incidents/doctor.ts makes it). */

export const CHECK_STATUSES = ['ok', 'warn', 'fail', 'skip'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];
export type CheckGroup = 'redis' | 'history' | 'runbooks' | 'connections' | 'diagnostics' | 'settings';

export interface DoctorCheck {
  /** Stable: `redis.reachable`, `connection.prometheus`, `diagnostic.<runbook>.<step>`, … */
  id: string;
  group: CheckGroup;
  title: string;
  status: CheckStatus;
  /** What was found, in one sentence. */
  detail: string;
  /** The exact environment variable or file (and line) to change; null when nothing is to be done. */
  fix: string | null;
  /** The runbooks that need what this check looked at ([] for the platform's own checks). */
  runbooks: string[];
  /** Not configured at all ("not wired"), as opposed to configured and failing ("broken"). */
  missing: boolean;
}

export interface DoctorReport {
  generatedAt: string;
  durationMs: number;
  /** No check failed (warnings and skips allowed): `fireline doctor` exits 0. */
  ok: boolean;
  counts: Record<CheckStatus, number>;
  checks: DoctorCheck[];
}

/** The Redis Fireline uses, connected, or why there is none to look at. */
export type RedisSource =
  | { client: RedisClient; where: string }
  | { client: null; status: 'warn' | 'fail'; detail: string; fix: string };

/** The incident history: off, an open database, or the embedded one's directory (not opened: one process may). */
export type HistorySource = { kind: 'off' } | { kind: 'db'; db: HistoryDb } | { kind: 'dir'; dir: string };

export interface DoctorSources {
  redis: RedisSource;
  history: HistorySource;
  connections: Connections;
  /** FIRELINE_CONFIG, named in fixes of connections set there. */
  configFile: string;
  /** The diagnostic executors, built from `connections` (createAdapters): checks run through them. */
  diagnostics: DiagnosticRegistry;
  runbooks: readonly DoctorRunbook[];
  /** What loading the runbook files found (`fireline doctor` loads them itself; a serving process has them loaded). */
  runbookIssues?: readonly LocatedIssue[];
  /** Any API token is set. */
  tokens: boolean;
  /** FIRELINE_DRY_RUN. */
  dryRun: boolean;
  /** The longest any one probe may take (a diagnostic's own shorter timeout wins). Default 10000. */
  probeTimeoutMs?: number;
  /** Probes at once. Default 4. */
  concurrency?: number;
  now?: () => Date;
}

/** A probe to run: resolves to its check; a throw is a bug (probes turn failures into checks). */
export type Probe = (signal: AbortSignal) => Promise<DoctorCheck>;

/** A check with the defaults of the optional fields. */
export function check(
  fields: Pick<DoctorCheck, 'id' | 'group' | 'title' | 'status' | 'detail'> & Partial<DoctorCheck>,
): DoctorCheck {
  return { fix: null, runbooks: [], missing: false, ...fields };
}

/** An error's message, for a check's detail (an AdapterError's names its adapter already). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
