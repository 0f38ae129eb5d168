import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKubernetesActions } from '../../src/adapters/actions/kubernetes.ts';
import { ConnectionsSchema } from '../../src/adapters/connections.ts';
import type { ActionContext } from '../../src/adapters/types.ts';
import { ActionSchema, isIdempotent } from '../../src/engine/runbook-schema.ts';
import { adapterFailure } from '../helpers/adapter-error.ts';
import { createKubectlStandIn, type KubectlStandIn } from '../helpers/kubectl-stand-in.ts';

// No Kubernetes cluster can run here: a stand-in kubectl records the argv each action runs.
let kubectl: KubectlStandIn;
beforeEach(async () => {
  kubectl = await createKubectlStandIn({ replicas: 3 });
});
afterEach(async () => kubectl.remove());

function actions(connection: { context?: string; kubeconfig?: string } = {}) {
  const conn = ConnectionsSchema.parse({ kubernetes: { kubectl: kubectl.path, ...connection } }).kubernetes;
  const [restart, scale, rollback] = createKubernetesActions(conn);
  return {
    restart: (c: Record<string, unknown>, ctx = live()) => restart.run(restart.configSchema.parse(c), ctx),
    scale: (c: Record<string, unknown>, ctx = live()) => scale.run(scale.configSchema.parse(c), ctx),
    rollback: (c: Record<string, unknown>, ctx = live()) => rollback.run(rollback.configSchema.parse(c), ctx),
  };
}
const live = (): ActionContext => ({ signal: new AbortController().signal, dryRun: false });
const dry = (): ActionContext => ({ signal: new AbortController().signal, dryRun: true });
const api = { deployment: 'api', namespace: 'prod' };

describe('kubernetes actions through kubectl', () => {
  it('restart_service: rollout restart with namespace, the connection context and kubeconfig', async () => {
    const outcome = await actions({ context: 'east', kubeconfig: '/etc/kube/config' }).restart(api);
    const argv = [
      'rollout',
      'restart',
      'deployment/api',
      '-n',
      'prod',
      '--context',
      'east',
      '--kubeconfig',
      '/etc/kube/config',
    ];
    expect(await kubectl.calls()).toEqual([argv]);
    expect(outcome).toEqual({
      dryRun: false,
      summary: 'restarted deployment/api in prod',
      command: [kubectl.path, ...argv],
      output: 'deployment.apps/api restarted\n',
    });
  });

  it("rollback: rollout undo, --to-revision when given; the step's context wins", async () => {
    const k = actions({ context: 'east' });
    await k.rollback(api);
    const outcome = await k.rollback({ ...api, context: 'west', toRevision: 7 });
    expect(await kubectl.calls()).toEqual([
      ['rollout', 'undo', 'deployment/api', '-n', 'prod', '--context', 'east'],
      ['rollout', 'undo', 'deployment/api', '-n', 'prod', '--to-revision=7', '--context', 'west'],
    ]);
    expect(outcome.summary).toBe('rolled back deployment/api in prod to revision 7');
  });

  it('scale_up to N: scales, and caps N at maxReplicas saying so', async () => {
    const k = actions();
    expect((await k.scale({ ...api, replicas: 4, maxReplicas: 10 })).summary).toBe(
      'scaled deployment/api in prod to 4 replicas',
    );
    expect((await k.scale({ ...api, replicas: 12, maxReplicas: 8 })).summary).toBe(
      'scaled deployment/api in prod to 8 replicas (asked for 12, capped at maxReplicas 8)',
    );
    expect(await kubectl.calls()).toEqual([
      ['scale', 'deployment/api', '-n', 'prod', '--replicas=4'],
      ['scale', 'deployment/api', '-n', 'prod', '--replicas=8'],
    ]);
    const scaleUp = (config: Record<string, unknown>) => ActionSchema.parse({ type: 'scale_up', config });
    expect(isIdempotent(scaleUp({ ...api, replicas: 4, maxReplicas: 10 }))).toBe(true);
    expect(isIdempotent(scaleUp({ ...api, by: 1, maxReplicas: 10 }))).toBe(false);
  });

  it('scale_up by +N: reads spec.replicas, then scales to min(current + N, maxReplicas)', async () => {
    const k = actions();
    expect((await k.scale({ ...api, by: 2, maxReplicas: 10 })).summary).toBe(
      'scaled deployment/api in prod from 3 to 5 replicas',
    );
    await kubectl.behave({ replicas: 9 });
    expect((await k.scale({ ...api, by: 3, maxReplicas: 10 })).summary).toBe(
      'scaled deployment/api in prod from 9 to 10 replicas (asked for 12, capped at maxReplicas 10)',
    );
    const get = ['get', 'deployment/api', '-n', 'prod', '-o', 'json'];
    expect(await kubectl.calls()).toEqual([
      get,
      ['scale', 'deployment/api', '-n', 'prod', '--replicas=5'],
      get,
      ['scale', 'deployment/api', '-n', 'prod', '--replicas=10'],
    ]);
  });

  it('scale_up by +N at maxReplicas already: an error, and no scale runs', async () => {
    await kubectl.behave({ replicas: 10 });
    const error = await adapterFailure(actions().scale({ ...api, by: 1, maxReplicas: 10 }));
    expect(error.message).toBe(
      'scale_up: deployment/api in prod is already at maxReplicas (10 replicas, maxReplicas 10)',
    );
    expect(error.retryable).toBe(false);
    expect(await kubectl.calls()).toEqual([['get', 'deployment/api', '-n', 'prod', '-o', 'json']]);
  });

  it('dry run: the same argv with --dry-run=server; the read of scale-by runs as is', async () => {
    const k = actions({ context: 'east' });
    const restart = await k.restart(api, dry());
    await k.rollback({ ...api, toRevision: 2 }, dry());
    const scale = await k.scale({ ...api, by: 1, maxReplicas: 5 }, dry());
    expect(await kubectl.calls()).toEqual([
      ['rollout', 'restart', 'deployment/api', '-n', 'prod', '--context', 'east', '--dry-run=server'],
      [
        'rollout',
        'undo',
        'deployment/api',
        '-n',
        'prod',
        '--to-revision=2',
        '--context',
        'east',
        '--dry-run=server',
      ],
      ['get', 'deployment/api', '-n', 'prod', '-o', 'json', '--context', 'east'],
      ['scale', 'deployment/api', '-n', 'prod', '--replicas=4', '--context', 'east', '--dry-run=server'],
    ]);
    expect(restart).toMatchObject({
      dryRun: true,
      summary: 'dry run (server-side): would restart deployment/api in prod',
      output: 'deployment.apps/api restarted (server dry run)\n',
    });
    expect(scale.summary).toBe(
      'dry run (server-side): would scale deployment/api in prod from 3 to 4 replicas',
    );
  });

  it('a non-zero exit is an AdapterError with the exit code and the end of stderr', async () => {
    await kubectl.behave({
      fail: { code: 1, stderr: 'Error from server (NotFound): deployments.apps "api" not found\n' },
    });
    const error = await adapterFailure(actions().restart(api));
    expect(error.message).toBe(
      `restart_service: ${kubectl.path} rollout restart deployment/api -n prod exited with code 1: Error from server (NotFound): deployments.apps "api" not found`,
    );
  });

  it('refuses names that are not Kubernetes names before kubectl runs', async () => {
    const k = actions();
    for (const deployment of ['$(touch /tmp/x)', '--all', 'api prod', 'API', 'a/b'])
      expect((await adapterFailure(k.restart({ ...api, deployment }))).message).toBe(
        `restart_service: ${JSON.stringify(deployment)} is not a Kubernetes name`,
      );
    expect((await adapterFailure(k.rollback({ ...api, namespace: '-A' }))).message).toBe(
      'rollback: "-A" is not a Kubernetes namespace',
    );
    expect(
      (await adapterFailure(k.scale({ ...api, context: '--kubeconfig=/x', replicas: 2, maxReplicas: 3 })))
        .message,
    ).toBe('scale_up: "--kubeconfig=/x" is not a kubeconfig context name');
    expect(await kubectl.calls()).toEqual([]);
  });

  it('kubectl missing is a clear error', async () => {
    const conn = ConnectionsSchema.parse({ kubernetes: { kubectl: '/nonexistent/kubectl' } }).kubernetes;
    const [restart] = createKubernetesActions(conn);
    await expect(restart.run(restart.configSchema.parse(api), live())).rejects.toThrow(
      "restart_service: command not found: '/nonexistent/kubectl' (ENOENT)",
    );
  });
});
