import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/** Paths redacted from every log line: secrets must never reach a log. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'routingKey',
  '*.routingKey',
  'webhookUrl',
  '*.webhookUrl',
];

/** The one root logger of a process; everything else is a child with ids (`incidentId`, `jobId`, …). */
export function createLogger(opts: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    { level: opts.level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { app: 'fireline' } },
    opts.destination,
  );
}
