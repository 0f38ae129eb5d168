import { z } from 'zod';
import { actionType, CHANGE_SAFETY, NonEmpty } from '../type-spec.ts';

/** `flush_cache`: deletes the keys matching `pattern` on a named Redis, at most `maxKeys`. */
export const FlushCacheConfigSchema = z.strictObject({
  target: NonEmpty.default('default'),
  pattern: NonEmpty,
  maxKeys: z.number().int().positive().default(10_000),
});

export const flushCache = actionType({
  type: 'flush_cache',
  configSchema: FlushCacheConfigSchema,
  // A value in the pattern has its glob characters escaped, and the pattern never becomes `*`.
  templateFields: (c) => [{ path: ['pattern'], value: c.pattern, mode: 'cache-pattern' }],
  isIdempotent: () => true,
  safety: CHANGE_SAFETY,
});
