import { nextStatusAfterPlan } from '../engine/incident-state.ts';
import type { Incident } from '../engine/types.ts';
import { InvalidOperationError, NotFoundError } from '../errors.ts';
import type { PipelineDeps } from './deps.ts';

/** The incident, or NotFoundError naming it. */
export async function requireIncident(deps: PipelineDeps, id: string): Promise<Incident> {
  const incident = await deps.store.get(id);
  if (!incident) throw new NotFoundError(`incident '${id}'`);
  return incident;
}

/**
 * Moves the incident to the status its plan implies (awaiting approval, remediating, awaiting the
 * responder). Compare-and-set; retried when another worker moved it meanwhile.
 */
export async function refreshStatus(deps: PipelineDeps, incidentId: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const incident = await requireIncident(deps, incidentId);
    if (incident.status === 'resolved' || !incident.decision) return;
    const next = nextStatusAfterPlan(incident.plan);
    if (next === incident.status) return;
    const res = await deps.store.setStatus(incidentId, [incident.status], next, {
      type: 'incident.status',
      actor: 'system',
      message: `Incident is now ${next.replaceAll('_', ' ')}`,
      data: { from: incident.status, to: next },
    });
    if (res.ok) return;
  }
  throw new InvalidOperationError(`incident ${incidentId}: status kept changing under refreshStatus`);
}
