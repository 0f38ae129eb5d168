import { Router } from 'express';
import { z } from 'zod';
import { reloadRunbooks } from '../../incidents/runbooks.ts';
import { requireScope } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';

/**
 * The runbooks this process serves, and their reload from `deps.runbookPaths`. A reload swaps the
 * whole catalog at once, or, when any file has an error, changes nothing and answers 422 with
 * every error located (`file:line path: message`). Each process holds its own catalog: in a split
 * deployment every API and worker process must be reloaded (or restarted) itself.
 */
export function runbookRoutes(deps: ApiDeps): Router {
  const router = Router();
  const catalog = deps.pipeline.deps.catalog;

  router.get('/api/v1/runbooks', requireScope(deps.auth, 'viewer'), (_req, res) => {
    const runbooks = catalog.all().map(({ runbook: r }) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      severity: r.severity,
      service: r.service,
      triggers: r.triggers,
      diagnostics: r.diagnostics.map((d) => ({ id: d.id, name: d.name, type: d.type })),
      remediations: r.remediations.map((m) => ({
        id: m.id,
        name: m.name,
        type: m.type,
        requiresApproval: m.requiresApproval,
      })),
    }));
    res.json({ runbooks });
  });

  router.get('/api/v1/runbooks/:id', requireScope(deps.auth, 'viewer'), (req, res) => {
    const { id } = z.object({ id: z.string().min(1).max(200) }).parse(req.params);
    res.json({ runbook: catalog.require(id).runbook });
  });

  router.post('/api/v1/runbooks/reload', requireScope(deps.auth, 'operator'), async (_req, res) => {
    const { runbookIds } = await reloadRunbooks({ catalog, logger: deps.logger }, deps.runbookPaths);
    res.json({ runbooks: runbookIds });
  });

  return router;
}
