import express from 'express';
import type { ApiDeps } from './deps.ts';

/** JSON body parser with the configured limit; raw bytes kept on `req` for signature checks. */
export function jsonBody(deps: ApiDeps) {
  return express.json({
    limit: deps.bodyLimitBytes ?? 1024 * 1024,
    verify: (req, _res, buf) => {
      (req as unknown as { rawBody: Buffer }).rawBody = buf;
    },
  });
}
