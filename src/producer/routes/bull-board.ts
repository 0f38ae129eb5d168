import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router } from 'express';
import { QUEUE_NAMES, QUEUES } from '../../queues/catalog.ts';
import { requireScope } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';

/** Where Bull Board is mounted. */
export const BULL_BOARD_PATH = '/admin/queues';

/**
 * Bull Board at `/admin/queues` for operators (a browser can log in with Basic auth, the operator
 * token as password). Every queue is registered, so flows show parent and children. The board
 * shows no retry button on remediations: whether an action runs again is for the runbook's safety
 * rules, and the worker's at-most-once markers would turn a retried non-idempotent action into a
 * no-op anyway (Bull Board's API itself still accepts a retry; the markers are the guard).
 */
export function bullBoardRoutes(deps: ApiDeps): Router {
  const { byName } = deps.pipeline.deps.queues;
  const serverAdapter = new ExpressAdapter().setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: QUEUE_NAMES.map(
      (name) => new BullMQAdapter(byName[name], { allowRetries: name !== QUEUES.remediations }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Fireline queues' } },
  });
  const router = Router();
  router.use(BULL_BOARD_PATH, requireScope(deps.auth, 'operator'), serverAdapter.getRouter());
  return router;
}
