import { access, constants } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { AdapterError } from '../errors.ts';
import type { Connections } from './connections.ts';
import { minimalEnv, runProcess, tail } from './process.ts';

/**
 * Read-only probes for `fireline doctor` (src/incidents/doctor.ts) of what the diagnostics cannot
 * try themselves: whether a notification target is configured (nothing is sent), whether kubectl
 * finds its context, whether a program is on the PATH the adapters give their children.
 */

/** Where a notification target's endpoint or key comes from, or undefined when it has none. */
export function notifyTargetSource(
  connections: Connections,
  kind: 'slack' | 'pagerduty' | 'webhook',
  target: string,
): string | undefined {
  if (kind === 'slack') {
    // The lookup of createSlackNotifier (src/adapters/notifiers/slack.ts): `#ops`, `ops`, then default.
    const hooks = connections.slack.webhooks;
    const bare = target.replace(/^#/, '');
    const key = [target, bare, `#${bare}`].find((k) => hooks[k] !== undefined);
    if (key !== undefined) return `connections.slack.webhooks['${key}']`;
    return hooks.default === undefined ? undefined : 'the default Slack webhook (SLACK_WEBHOOK_URL)';
  }
  if (kind === 'pagerduty') {
    // As createPagerDutyNotifier (src/adapters/notifiers/pagerduty.ts) looks it up.
    const keys = connections.pagerduty.routingKeys;
    if (keys[target] !== undefined) return `connections.pagerduty.routingKeys.${target}`;
    return keys.default === undefined ? undefined : 'the default routing key (PAGERDUTY_ROUTING_KEY)';
  }
  return connections.webhooks[target] === undefined ? undefined : `connections.webhooks.${target}`;
}

/** What kubectl said about its context. */
export type KubectlProbe = { ok: true; context: string } | { ok: false; missing: boolean; message: string };

/**
 * Asks kubectl for its context without touching the cluster: `kubectl config get-contexts <ctx> -o
 * name` when the connection names one, else `kubectl config current-context`, with `--kubeconfig`
 * when set. `missing`: kubectl itself could not be started.
 */
export async function probeKubectl(
  conn: Connections['kubernetes'],
  signal: AbortSignal,
): Promise<KubectlProbe> {
  const argv = [
    conn.kubectl,
    'config',
    ...(conn.context === undefined ? ['current-context'] : ['get-contexts', conn.context, '-o', 'name']),
    ...(conn.kubeconfig === undefined ? [] : ['--kubeconfig', conn.kubeconfig]),
  ];
  let result: Awaited<ReturnType<typeof runProcess>>;
  try {
    result = await runProcess(argv, { signal, maxOutputBytes: 4096, adapter: 'kubernetes' });
  } catch (err) {
    if (!(err instanceof AdapterError)) throw err;
    return { ok: false, missing: !err.retryable && !signal.aborted, message: err.message };
  }
  const said = result.stdout.trim().split('\n')[0] ?? '';
  if (result.exitCode === 0 && said !== '') return { ok: true, context: said };
  const why = tail(result.stderr.trim() || result.stdout.trim(), 300) || `exit code ${result.exitCode}`;
  return { ok: false, missing: false, message: `${argv.slice(0, 4).join(' ')}: ${why}` };
}

/**
 * The file `program` runs as for a child of the adapters (whose PATH is `minimalEnv().PATH`), or
 * undefined when nothing executable is there. A name with a `/` is taken as a path.
 */
export async function findProgram(
  program: string,
  path = minimalEnv().PATH ?? '',
): Promise<string | undefined> {
  const candidates =
    isAbsolute(program) || program.includes('/')
      ? [program]
      : path
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, program));
  for (const file of candidates) if (await executable(file)) return file;
  return undefined;
}

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') return false;
    throw err;
  }
}
