import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A route taken before express (src/producer/app.ts). Express costs a small request several times
 * the work of the request itself: its router walks every module, its middleware runs, and it swaps
 * the prototypes of Node's request and response, which slows every later use of them. A module on
 * the hot path (the Alertmanager webhook) may offer one: it takes a request only in the plain case
 * (its path exactly, the app's guard and the route's auth passed), reads the body with the route's
 * own parser, answers it with Node's own API, and hands anything else to express, possibly after
 * reading the body (the parser then leaves it as read) or with an error: every other answer is
 * express's own.
 *
 * Returns false without touching the request (express takes it), or true: it answers, or calls
 * `toExpress` once.
 */
export type PreRoute = (
  req: IncomingMessage,
  res: ServerResponse,
  toExpress: (handover?: Handover) => void,
) => boolean;

/** What a pre-route hands to express with the request. */
export interface Handover {
  /** A failure after the checks (the body parser's, or intake's): the app's error handler answers it. */
  error: unknown;
}

const HANDOVER = Symbol('fireline.handover');

/** Keeps `handover` on the request for the express middleware that reads it. */
export function setHandover(req: IncomingMessage, handover: Handover): void {
  (req as IncomingMessage & { [HANDOVER]?: Handover })[HANDOVER] = handover;
}

/** What a pre-route handed over with this request, if anything. */
export function handoverOf(req: IncomingMessage): Handover | undefined {
  return (req as IncomingMessage & { [HANDOVER]?: Handover })[HANDOVER];
}
