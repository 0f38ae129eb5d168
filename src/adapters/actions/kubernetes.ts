import type { z } from 'zod';
import {
  RestartServiceConfigSchema,
  RollbackConfigSchema,
  ScaleUpConfigSchema,
} from '../../engine/action-types/kubernetes.ts';
import { AdapterError } from '../../errors.ts';
import type { Connections } from '../connections.ts';
import { formatArgv, runProcess, tail } from '../process.ts';
import type { ActionContext, ActionExecutor, ActionOutcome } from '../types.ts';

/** `restart_service`: `deployment`, `namespace`, optional `context`. */
export type RestartConfig = z.infer<typeof RestartServiceConfigSchema>;
/** `scale_up`: the target and `replicas` (to N) or `by` (+N), capped at `maxReplicas`. */
export type ScaleConfig = z.infer<typeof ScaleUpConfigSchema>;
/** `rollback`: the target and an optional `toRevision`. */
export type RollbackConfig = z.infer<typeof RollbackConfigSchema>;

type Target = RestartConfig;
type KubernetesConnection = Connections['kubernetes'];

export interface KubernetesOptions {
  /** Cap for each of kubectl's stdout and stderr. Default 16384: an outcome lands on the timeline. */
  maxOutputBytes?: number;
}

const STDERR_TAIL_CHARS = 500;
// RFC 1123 subdomain, as Kubernetes names deployments; namespaces are the stricter label form.
const SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * `restart_service`, `scale_up` and `rollback` through kubectl (`connections.kubernetes`: the
 * kubectl path, an optional kubeconfig and default context), always as an argv:
 * - restart: `kubectl rollout restart deployment/NAME -n NS`
 * - rollback: `kubectl rollout undo deployment/NAME -n NS [--to-revision=N]`
 * - scale to N: `kubectl scale deployment/NAME -n NS --replicas=N`, N capped at maxReplicas;
 *   scale by +N reads `spec.replicas` first (`kubectl get deployment/NAME -n NS -o json`) and
 *   scales to min(current + N, maxReplicas); already at the cap is an error, not a silent no-op.
 * Every command gets `--context` (the step's, else the connection's) and `--kubeconfig` when set.
 * A dry run runs the same argv with `--dry-run=server` (the API server validates, changes nothing);
 * the read of scale-by runs as it is. The outcome keeps the argv and kubectl's output. A non-zero
 * exit is an `AdapterError` with the exit code and the end of stderr. Names that are not
 * Kubernetes names are refused before kubectl runs.
 */
export function createKubernetesActions(
  connection: KubernetesConnection,
  options: KubernetesOptions = {},
): [ActionExecutor<RestartConfig>, ActionExecutor<ScaleConfig>, ActionExecutor<RollbackConfig>] {
  const maxOutputBytes = options.maxOutputBytes ?? 16_384;
  const kubectl = (
    adapter: string,
    config: Target,
    verb: string[],
    flags: string[],
    ctx: ActionContext,
    dryRun = ctx.dryRun,
  ) => runKubectl({ connection, maxOutputBytes, adapter, config, verb, flags, signal: ctx.signal, dryRun });

  const restart: ActionExecutor<RestartConfig> = {
    type: 'restart_service',
    configSchema: RestartServiceConfigSchema,
    async run(config, ctx) {
      const ran = await kubectl('restart_service', config, ['rollout', 'restart'], [], ctx);
      return outcome(ctx, ran, `restart ${describe(config)}`, `restarted ${describe(config)}`);
    },
  };

  const rollback: ActionExecutor<RollbackConfig> = {
    type: 'rollback',
    configSchema: RollbackConfigSchema,
    async run(config, ctx) {
      const revision = config.toRevision === undefined ? [] : [`--to-revision=${config.toRevision}`];
      const ran = await kubectl('rollback', config, ['rollout', 'undo'], revision, ctx);
      const to = config.toRevision === undefined ? 'the previous revision' : `revision ${config.toRevision}`;
      return outcome(
        ctx,
        ran,
        `roll back ${describe(config)} to ${to}`,
        `rolled back ${describe(config)} to ${to}`,
      );
    },
  };

  const scale: ActionExecutor<ScaleConfig> = {
    type: 'scale_up',
    configSchema: ScaleUpConfigSchema,
    async run(config, ctx) {
      let wanted = config.replicas ?? 0;
      let from = '';
      if (config.replicas === undefined) {
        // Reading is harmless, so it runs in a dry run too: the scale shown is the one that would run.
        const current = await currentReplicas(
          await kubectl('scale_up', config, ['get'], ['-o', 'json'], ctx, false),
        );
        if (current >= config.maxReplicas)
          throw new AdapterError(
            'scale_up',
            `${describe(config)} is already at maxReplicas (${current} replicas, maxReplicas ${config.maxReplicas})`,
            { retryable: false },
          );
        wanted = current + (config.by ?? 0);
        from = ` from ${current}`;
      }
      const replicas = Math.min(wanted, config.maxReplicas);
      const capped =
        wanted > replicas ? ` (asked for ${wanted}, capped at maxReplicas ${config.maxReplicas})` : '';
      const ran = await kubectl('scale_up', config, ['scale'], [`--replicas=${replicas}`], ctx);
      const what = `${describe(config)}${from} to ${replicas} replicas${capped}`;
      return outcome(ctx, ran, `scale ${what}`, `scaled ${what}`);
    },
  };

  return [restart, scale, rollback];
}

function describe(config: Target): string {
  return `deployment/${config.deployment} in ${config.namespace}`;
}

function outcome(ctx: ActionContext, ran: Ran, would: string, did: string): ActionOutcome {
  return {
    dryRun: ctx.dryRun,
    summary: ctx.dryRun ? `dry run (server-side): would ${would}` : did,
    command: ran.argv,
    output: ran.output,
  };
}

/** The replicas the deployment asks for, from `kubectl get … -o json`. */
function currentReplicas(ran: Ran): number {
  let replicas: unknown;
  try {
    replicas = (JSON.parse(ran.output) as { spec?: { replicas?: unknown } }).spec?.replicas;
  } catch (err) {
    throw new AdapterError('scale_up', `${formatArgv(ran.argv)} did not print JSON`, {
      retryable: false,
      cause: err,
    });
  }
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
    throw new AdapterError('scale_up', `${formatArgv(ran.argv)} printed no spec.replicas`, {
      retryable: false,
    });
  return replicas;
}

interface Ran {
  argv: string[];
  /** stdout, capped. */
  output: string;
}

interface KubectlRun {
  connection: KubernetesConnection;
  maxOutputBytes: number;
  adapter: string;
  config: Target;
  /** `['rollout', 'undo']`, `['scale']`, `['get']`. */
  verb: string[];
  /** The verb's own flags, after the resource and namespace: `['--replicas=3']`. */
  flags: string[];
  signal: AbortSignal;
  dryRun: boolean;
}

async function runKubectl(run: KubectlRun): Promise<Ran> {
  const { connection, adapter, config } = run;
  // The engine renders templates into Kubernetes names already; a config from elsewhere is held
  // to the same rule, so that no value can turn into a flag or a second resource.
  if (!SUBDOMAIN.test(config.deployment))
    throw new AdapterError(adapter, `${JSON.stringify(config.deployment)} is not a Kubernetes name`, {
      retryable: false,
    });
  if (!LABEL.test(config.namespace))
    throw new AdapterError(adapter, `${JSON.stringify(config.namespace)} is not a Kubernetes namespace`, {
      retryable: false,
    });
  const context = config.context ?? connection.context;
  if (context !== undefined && (context === '' || context.startsWith('-') || context.includes('\0')))
    throw new AdapterError(adapter, `${JSON.stringify(context)} is not a kubeconfig context name`, {
      retryable: false,
    });
  const argv = [
    connection.kubectl,
    ...run.verb,
    `deployment/${config.deployment}`,
    '-n',
    config.namespace,
    ...run.flags,
    ...(context === undefined ? [] : ['--context', context]),
    ...(connection.kubeconfig === undefined ? [] : ['--kubeconfig', connection.kubeconfig]),
    ...(run.dryRun ? ['--dry-run=server'] : []),
  ];
  const result = await runProcess(argv, { signal: run.signal, maxOutputBytes: run.maxOutputBytes, adapter });
  if (result.exitCode !== 0) {
    const how =
      result.exitCode === null ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
    const stderr = result.stderr.trim();
    // The API server may be briefly unreachable or conflicting; only idempotent actions are retried.
    throw new AdapterError(
      adapter,
      `${formatArgv(argv)} ${how}${stderr ? `: ${tail(stderr, STDERR_TAIL_CHARS)}` : ''}`,
      {
        retryable: result.exitCode !== null,
      },
    );
  }
  return { argv, output: result.truncated ? `${result.stdout}\n[output truncated]` : result.stdout };
}
