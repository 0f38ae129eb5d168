import { z } from 'zod';
import { actionType, CHANGE_SAFETY, type Field, NonEmpty } from '../type-spec.ts';

/**
 * The three kubectl actions on a deployment: `restart_service`, `scale_up` and `rollback`. They
 * share a target (deployment, namespace, optional kubeconfig context) and its template fields.
 */

const K8sTarget = { deployment: NonEmpty, namespace: NonEmpty, context: z.string().optional() };
type Target = z.output<z.ZodObject<typeof K8sTarget>>;

export const RestartServiceConfigSchema = z.strictObject(K8sTarget);
export const ScaleUpConfigSchema = z
  .strictObject({
    ...K8sTarget,
    replicas: z.number().int().positive().optional(),
    by: z.number().int().positive().optional(),
    maxReplicas: z.number().int().positive(),
  })
  .refine((c) => (c.replicas === undefined) !== (c.by === undefined), {
    error: 'scale_up needs exactly one of replicas (scale to N) or by (scale by +N)',
  });
export const RollbackConfigSchema = z.strictObject({
  ...K8sTarget,
  toRevision: z.number().int().positive().optional(),
});

/** Deployment and namespace must be Kubernetes names after render; a templated context too. */
function targetFields(c: Target): Field[] {
  const context: Field[] =
    c.context === undefined ? [] : [{ path: ['context'], value: c.context, mode: 'k8s-context' }];
  return [
    { path: ['deployment'], value: c.deployment, mode: 'k8s-name' },
    { path: ['namespace'], value: c.namespace, mode: 'k8s-name' },
    ...context,
  ];
}

export const restartService = actionType({
  type: 'restart_service',
  configSchema: RestartServiceConfigSchema,
  templateFields: targetFields,
  isIdempotent: () => false,
  safety: CHANGE_SAFETY,
});

export const scaleUp = actionType({
  type: 'scale_up',
  configSchema: ScaleUpConfigSchema,
  templateFields: targetFields,
  // Scaling to N is; scaling by +N is not.
  isIdempotent: (c) => c.replicas !== undefined,
  safety: CHANGE_SAFETY,
});

export const rollback = actionType({
  type: 'rollback',
  configSchema: RollbackConfigSchema,
  templateFields: targetFields,
  isIdempotent: () => false,
  safety: CHANGE_SAFETY,
});
