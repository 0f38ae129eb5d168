import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { NotFoundError } from '../../errors.ts';
import { findIncident, findTimeline } from '../../incidents/archive.ts';
import type { FollowHandle } from '../../store/progress.ts';
import { requireScope } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { redisErrorsAs503, requireRedis } from '../http-errors.ts';
import { openSse } from '../sse.ts';

export { closeAllStreams } from '../sse.ts';

/**
 * Live progress as Server-Sent Events: one incident's timeline, or every incident's events. A
 * client resumes with `Last-Event-ID` (or `?lastEventId=`) and gets every later event exactly
 * once, in order: the progress hub replays the stream after that id before it follows live.
 */

const DEFAULT_HEARTBEAT_MS = 15_000;

const Resume = z.object({
  'Last-Event-ID': z
    .string()
    .regex(/^\d{1,20}-\d{1,20}$/, { error: 'expected an event id such as 1700000000000-0' })
    .optional(),
  from: z.enum(['start', 'now']).optional(),
});

/** The id to resume after, from the header or (for clients that cannot set it) the query. */
function resumeOf(req: Request): z.infer<typeof Resume> {
  const header = req.get('Last-Event-ID');
  const query = typeof req.query.lastEventId === 'string' ? req.query.lastEventId : undefined;
  const from = req.query.from;
  return Resume.parse({
    'Last-Event-ID': header || query || undefined,
    ...(from === undefined ? {} : { from }),
  });
}

/** Streams events after `fromId` until the client goes away or the stream fails. */
async function stream(
  deps: ApiDeps,
  res: Response,
  incidentId: string | null,
  fromId: string,
): Promise<void> {
  const log = deps.logger.child({ incidentId: incidentId ?? '*' });
  let handle: FollowHandle | undefined;
  const stop = () => {
    handle?.stop().catch((err: unknown) => log.warn({ err }, 'stopping an SSE follower failed'));
  };
  const sse = openSse(res, { heartbeatMs: deps.sseHeartbeatMs ?? DEFAULT_HEARTBEAT_MS, onClose: stop });
  try {
    handle = await deps.pipeline.progress.follow(
      incidentId,
      fromId,
      (event, cursor) => sse.send(cursor, event.type, event),
      {
        onError: (err) => {
          log.warn({ err }, 'SSE follower failed; closing the stream so the client resumes');
          sse.close();
        },
      },
    );
  } catch (err) {
    // Headers are already sent: ending the stream makes the client retry with its Last-Event-ID.
    log.warn({ err }, 'SSE follow could not start; closing the stream');
    sse.close();
    return;
  }
  if (sse.closed) stop(); // the client left while the replay ran
}

/** Routes `GET /api/v1/incidents/:id/events` and `GET /api/v1/events`. */
export function eventRoutes(deps: ApiDeps): Router {
  const router = Router();
  const p = deps.pipeline.deps;
  // EventSource cannot set headers: the streams (and only they) take `?access_token=`.
  const read = [requireScope(deps.auth, 'viewer', { queryToken: true }), requireRedis(deps)];

  router.get('/api/v1/incidents/:id/events', ...read, async (req, res) => {
    const { id } = z.object({ id: z.string().min(1).max(200) }).parse(req.params);
    const resume = resumeOf(req);
    const fromId = resume['Last-Event-ID'] ?? '0';
    if (await p.store.has(id)) return stream(deps, res, id, fromId);
    if (!(await findIncident(p, id))) throw new NotFoundError(`incident '${id}'`);
    // Swept from Redis, kept in the history: its timeline is whole and nothing more will happen.
    const sse = openSse(res, { heartbeatMs: deps.sseHeartbeatMs ?? DEFAULT_HEARTBEAT_MS, onClose: () => {} });
    for (const event of await findTimeline(p, id, { after: fromId })) sse.send(event.id, event.type, event);
  });

  router.get('/api/v1/events', ...read, async (req, res) => {
    const resume = resumeOf(req);
    let fromId = resume['Last-Event-ID'];
    if (fromId === undefined && resume.from !== 'start') {
      // "From now": after the newest entry of the global events stream.
      fromId = await deps.pipeline.progress.newestEventId();
    }
    await stream(deps, res, null, fromId ?? '0');
  });

  router.use(redisErrorsAs503(deps));
  return router;
}
