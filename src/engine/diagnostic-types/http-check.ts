import { z } from 'zod';
import { diagnosticType, entries, type Field, NonEmpty } from '../type-spec.ts';

/** `http_check`: requests to a few URLs, with expected statuses and an optional body match. */
export const HttpCheckConfigSchema = z.strictObject({
  urls: z
    .array(
      z.strictObject({
        name: NonEmpty,
        url: NonEmpty,
        method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
        headers: z.record(z.string(), z.string()).default({}),
        expectStatus: z.array(z.number().int()).optional(),
        bodyMatch: z.string().optional(),
      }),
    )
    .min(1),
  slowMs: z.number().positive().default(1000),
});

export const httpCheck = diagnosticType({
  type: 'http_check',
  configSchema: HttpCheckConfigSchema,
  facts: [
    {
      name: 'checks',
      type: 'list',
      doc: 'one {name, url, status, ok, latency_ms, error, cert_days} per URL; status null when unreachable',
    },
    { name: 'all_healthy', type: 'bool', doc: 'every check answered with an expected status (and body)' },
    { name: 'any_unreachable', type: 'bool', doc: 'some URL did not answer (DNS, connect, TLS or timeout)' },
    { name: 'max_latency_ms', type: 'dyn', doc: 'slowest answer in milliseconds, null when none answered' },
    { name: 'slow_count', type: 'double', doc: 'checks slower than the step’s slowMs' },
    {
      name: 'min_cert_days',
      type: 'dyn',
      doc: 'smallest TLS certificate days-to-expiry across https checks, null when none',
    },
  ],
  templateFields: (c) =>
    c.urls.flatMap((u, i): Field[] => [
      { path: ['urls', i, 'url'], value: u.url, mode: 'url' },
      ...entries(u.headers, ['urls', i, 'headers'], 'header'),
    ]),
  standIn: { urls: [{ name: 'standin', url: 'http://standin.invalid/' }] },
});
