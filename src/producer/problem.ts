import type { Response } from 'express';

/** One failing field of a request: `alerts.0.labels`, and what was wrong. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * Answers with an RFC 9457 problem document (`application/problem+json`): a clear `detail`, and
 * the failing field paths in `errors` when the request itself was wrong.
 */
export function sendProblem(
  res: Response,
  status: number,
  title: string,
  detail: string,
  extra: { errors?: FieldError[]; retryAfterSeconds?: number } = {},
): void {
  if (extra.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(extra.retryAfterSeconds));
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: 'about:blank',
        title,
        status,
        detail,
        ...(extra.errors ? { errors: extra.errors } : {}),
      }),
    );
}
