import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FirelineProcess, spawnFireline } from '../../scripts/harness/fireline-process.ts';

/**
 * Whether `pid` is gone: no such process, or a zombie. A zombie counts as gone because this
 * container's PID 1 does not reap orphans, so a dead grandchild can stay one for good.
 */
export function processGone(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  // The state follows the command name, which is in parentheses and may itself hold spaces.
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

/** Whether a Fireline child is still running (neither exited nor killed). */
export function running(p: FirelineProcess): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/**
 * SIGKILLs every child of `procs` still running, waits for each to exit, and empties the list;
 * throws if one is somehow still there afterwards.
 */
export async function killAll(procs: FirelineProcess[]): Promise<void> {
  const all = procs.splice(0);
  for (const p of all) if (running(p)) p.child.kill('SIGKILL');
  await Promise.all(all.map((p) => p.exited));
  const left = all.filter((p) => p.child.pid !== undefined && !processGone(p.child.pid));
  if (left.length) throw new Error(`processes still alive after SIGKILL: ${left.map((p) => p.child.pid)}`);
}

/** A scratch directory with a `runbooks/` folder (FIRELINE_RUNBOOKS) holding YAML files. */
export interface Scratch {
  dir: string;
  runbooks: string;
  remove(): void;
}

/** Makes a scratch directory; `runbooks(dir)` names its runbook files (name → YAML text). */
export function scratchDir(name: string, runbooks: (dir: string) => Record<string, string>): Scratch {
  const dir = mkdtempSync(join(tmpdir(), `fireline-${name}-`));
  const runbookDir = join(dir, 'runbooks');
  mkdirSync(runbookDir);
  for (const [file, text] of Object.entries(runbooks(dir))) writeFileSync(join(runbookDir, file), text);
  return { dir, runbooks: runbookDir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts `fireline start --role <role>` with `env`, records it in `procs`, and waits until it is up. */
export async function startRole(
  role: 'api' | 'worker',
  env: Record<string, string>,
  procs: FirelineProcess[],
): Promise<FirelineProcess> {
  const p = spawnFireline(['start', '--role', role], env);
  procs.push(p);
  await p.waitForLine(role === 'api' ? /API listening/ : /workers started/, 60_000);
  return p;
}

/**
 * A runbook whose quick check is always healthy and whose one remediation, `append_marker` (a
 * `run_script` that is not idempotent, on `service`), runs `command` (a YAML flow list): the
 * chaos and failover tests count its runs in a marker file.
 */
export function markerRunbook(o: {
  id: string;
  alertName: string;
  service: string;
  command: string;
}): string {
  return `
id: ${o.id}
name: ${o.id}
severity: P2
service: ${o.service}
triggers:
  - type: alert
    alertName: ${o.alertName}
diagnostics:
  - id: quick
    name: Quick check
    type: shell_command
    config: { command: [sh, -c, "exit 0"] }
    interpret: { critical: "exit_code != 0", healthy: "exit_code == 0" }
decisionTree:
  - condition: "diagnostics.quick.status == 'healthy'"
    then: [append_marker]
remediations:
  - id: append_marker
    name: Append the incident id to the marker file
    type: automated
    maxPerHour: 1000
    action:
      type: run_script
      config:
        command: ${o.command}
escalation:
  primary: "#chaos"
  escalateAfterMinutes: 30
`;
}
