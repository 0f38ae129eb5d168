import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router } from 'express';
import { QUEUE_NAMES, QUEUES } from '../../queues/catalog.ts';
import { BULL_BOARD_PATH, requireScope } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';

/** Where Bull Board is mounted. */

/**
 * Bull Board at `/admin/queues` for operators (a browser can log in with Basic auth, the operator
 * token as password). Every queue is registered, so flows show parent and children.
 *
 * The remediations queue is read-only (`readOnlyMode`): the board shows it, and its API answers
 * 405 to every change of it — retry, add, promote, remove, clean, empty, obliterate, pause/resume,
 * job data, delay or priority, and the global concurrency and rate limit. Whether an action runs,
 * runs again or runs sooner is for the runbook's approvals and safety rules, Fireline's own kill
 * switch (`setRemediationsPaused`) and the limits the workers set; none of them is a board click.
 */
export function bullBoardRoutes(deps: ApiDeps): Router {
  const { byName } = deps.pipeline.deps.queues;
  const serverAdapter = new ExpressAdapter().setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: QUEUE_NAMES.map(
      (name) => new BullMQAdapter(byName[name], { readOnlyMode: name === QUEUES.remediations }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Fireline queues' } },
  });
  const router = Router();
  router.use(BULL_BOARD_PATH, requireScope(deps.auth, 'operator'), serverAdapter.getRouter());
  return router;
}
