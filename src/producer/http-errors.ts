import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { FirelineError, InvalidOperationError, NotFoundError, RunbookValidationError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ApiDeps } from './deps.ts';
import { type FieldError, sendProblem } from './problem.ts';

/** The failing fields of a schema error, for a problem document's `errors`. */
export function fieldErrors(err: ZodError): FieldError[] {
  return err.issues.map((i) => ({ field: i.path.map(String).join('.') || '(body)', message: i.message }));
}

/** Thrown by handlers to answer 503: the request may succeed later (Redis down, overloaded). */
export class UnavailableError extends FirelineError {
  constructor(message: string) {
    super('UNAVAILABLE', message);
  }
}

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 5;

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
  /** Set by http-errors on 4xx errors whose message is safe to show the client. */
  expose?: boolean;
}

/**
 * The last middleware: maps errors to problem documents. Expected failures carry their own status;
 * anything else is logged with its stack and answered 500 without internals.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const e = err as BodyParserError;
    if (e?.type === 'entity.too.large')
      return sendProblem(
        res,
        413,
        'Payload Too Large',
        `the request body is larger than the limit of ${e.limit} bytes`,
      );
    if (e?.type === 'entity.parse.failed')
      return sendProblem(res, 400, 'Bad Request', `the body is not valid JSON: ${e.message}`, {
        errors: [{ field: '(body)', message: 'invalid JSON' }],
      });
    // The body parser's other refusals (a charset or content encoding it does not support, a body
    // that does not inflate, a length that does not match) are the client's, not a 500.
    if (e?.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500)
      return sendProblem(res, e.status, STATUS_CODES[e.status] ?? 'Bad Request', e.message);
    if (err instanceof ZodError)
      return sendProblem(res, 400, 'Bad Request', 'the request does not match the expected shape', {
        errors: fieldErrors(err),
      });
    if (err instanceof NotFoundError) return sendProblem(res, 404, 'Not Found', err.message);
    if (err instanceof InvalidOperationError) return sendProblem(res, 409, 'Conflict', err.message);
    if (err instanceof RunbookValidationError)
      return sendProblem(res, 422, 'Unprocessable Content', err.message, {
        errors: err.issues.map((i) => ({
          field: `${i.file}${i.line ? `:${i.line}` : ''} ${i.path}`.trim(),
          message: i.message,
        })),
      });
    if (err instanceof UnavailableError)
      return sendProblem(res, 503, 'Service Unavailable', err.message, {
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
    logger.error({ err, method: req.method, path: req.path }, 'request failed');
    sendProblem(res, 500, 'Internal Server Error', 'the request failed on the server; see the Fireline logs');
  };
}

/** Answers 503 before touching Redis when the request connection is down (it never queues). */
export function requireRedis(deps: ApiDeps): RequestHandler {
  return (_req, _res, next) => {
    if (deps.pipeline.deps.redis.status !== 'ready')
      return next(new UnavailableError('Redis is unavailable; retry shortly'));
    next();
  };
}

/**
 * Last handler of a router that talks to Redis: an unexpected error while the connection is down
 * (a command cut off mid-flight) is a 503 the client may retry, not a 500.
 */
export function redisErrorsAs503(deps: ApiDeps): ErrorRequestHandler {
  return (err, _req, _res, next) => {
    const down = deps.pipeline.deps.redis.status !== 'ready';
    if (down && !(err instanceof FirelineError) && !(err instanceof ZodError)) {
      deps.logger.warn({ err }, 'request failed while Redis is unavailable');
      return next(new UnavailableError('Redis is unavailable; retry shortly'));
    }
    next(err);
  };
}
