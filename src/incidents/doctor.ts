import { performance } from 'node:perf_hooks';
import { connectionChecks } from './doctor-connections.ts';
import { diagnosticChecks } from './doctor-diagnostics.ts';
import { historyCheck, redisChecks, runbooksCheck, settingChecks } from './doctor-platform.ts';
import {
  CHECK_STATUSES,
  type CheckStatus,
  type DoctorCheck,
  type DoctorReport,
  type DoctorSources,
  type Probe,
} from './doctor-report.ts';

/**
 * `fireline doctor`, the console's Setup page and the incident page's "not wired" banner: one
 * report of whether this deployment can do what its runbooks ask. Each check says what it found
 * and, when something is to be done, the exact variable or file (and line) to change. Nothing is
 * written and nothing is sent: Redis and the history are read, each connection a runbook uses is
 * asked a read-only question, each diagnostic runs once through its own adapter (queries only:
 * commands are looked up, not run), and notification targets are only looked up.
 */

/** Runs every check and returns the report, in a fixed order (platform, connections, diagnostics). */
export async function runDoctor(sources: DoctorSources): Promise<DoctorReport> {
  const started = performance.now();
  const now = sources.now ?? (() => new Date());
  const generatedAt = now().toISOString();
  const probes: Probe[] = [
    ...redisChecks(sources.redis),
    historyCheck(sources.history),
    async () => runbooksCheck(sources),
    ...connectionChecks(sources),
    ...diagnosticChecks(sources),
  ];
  const checks = await runProbes(probes, sources.probeTimeoutMs ?? 10_000, sources.concurrency ?? 4);
  checks.push(...settingChecks(sources));
  const counts = Object.fromEntries(CHECK_STATUSES.map((s) => [s, 0])) as Record<CheckStatus, number>;
  for (const c of checks) counts[c.status] += 1;
  return {
    generatedAt,
    durationMs: Math.round(performance.now() - started),
    ok: counts.fail === 0,
    counts,
    checks,
  };
}

/** Runs `probes` `lanes` at a time, each under its own timeout; results in the probes' order. */
async function runProbes(probes: Probe[], timeoutMs: number, lanes: number): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = new Array(probes.length);
  let next = 0;
  const lane = async () => {
    while (next < probes.length) {
      const i = next++;
      out[i] = await probes[i]!(AbortSignal.timeout(timeoutMs));
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, probes.length) }, lane));
  return out;
}

export * from './doctor-report.ts';
