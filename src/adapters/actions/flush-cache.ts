import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { z } from 'zod';
import { FlushCacheConfigSchema } from '../../engine/action-types/flush-cache.ts';
import { AdapterError } from '../../errors.ts';
import { type ActionContext, type ActionExecutor, type ActionOutcome, abortError } from '../types.ts';

/** A `flush_cache` action's config, defaults applied: `target`, `pattern`, `maxKeys`. */
export type FlushCacheConfig = z.infer<typeof FlushCacheConfigSchema>;

export interface FlushCacheOptions {
  /** The `COUNT` hint of each SCAN, which is also the largest UNLINK batch. Default 500. */
  scanCount?: number;
}

/** The cache clients of one process; `close` quits those that were opened. */
export interface FlushCacheAction extends ActionExecutor<FlushCacheConfig> {
  close(): Promise<void>;
}

/**
 * `flush_cache`: deletes the keys matching `pattern` on a named Redis of `connections.redis`,
 * walking the keyspace with `SCAN MATCH … COUNT …` and deleting with `UNLINK` batch by batch, never
 * more than `maxKeys` (the outcome says when it stopped there). Never `KEYS`, `FLUSHDB` or
 * `FLUSHALL`. A dry run counts the matching keys (up to `maxKeys`) and deletes none. Idempotent:
 * a second run finds nothing more to delete. Clients connect on first use.
 */
export function createFlushCacheAction(
  targets: Record<string, { url: string }>,
  options: FlushCacheOptions = {},
): FlushCacheAction {
  const scanCount = options.scanCount ?? 500;
  const clients = new Map<string, { redis: Redis; lastError?: string }>();
  let closing: Promise<void> | undefined;

  const clientFor = async (target: string): Promise<{ redis: Redis; lastError?: string }> => {
    const url = targets[target]?.url;
    if (url === undefined)
      throw new AdapterError('flush_cache', `redis target '${target}' is not configured`, {
        retryable: false,
      });
    let client = clients.get(target);
    if (!client) {
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 10_000 });
      const entry: { redis: Redis; lastError?: string } = { redis };
      // Kept to explain a command that fails while reconnecting; without a listener ioredis would
      // also print every reconnect failure to the console.
      redis.on('error', (err: Error) => {
        entry.lastError = err.message;
      });
      clients.set(target, entry);
      client = entry;
    }
    if (client.redis.status === 'wait') {
      try {
        await client.redis.connect();
      } catch (err) {
        const why = client.lastError ?? (err instanceof Error ? err.message : String(err));
        throw new AdapterError('flush_cache', `cannot connect to redis target '${target}': ${why}`, {
          retryable: true,
          cause: err,
        });
      }
    }
    return client;
  };

  return {
    type: 'flush_cache',
    configSchema: FlushCacheConfigSchema,
    async run(config: FlushCacheConfig, ctx: ActionContext): Promise<ActionOutcome> {
      if (closing)
        throw new AdapterError('flush_cache', 'the cache clients are closed', { retryable: false });
      const started = performance.now();
      const request = { target: config.target, pattern: config.pattern, maxKeys: config.maxKeys };
      const seen = new Set<string>(); // SCAN may return a key twice; count each once
      let deleted = 0;
      let capped = false;
      let client: { redis: Redis; lastError?: string } | undefined;
      try {
        client = await clientFor(config.target);
        let cursor = '0';
        do {
          if (ctx.signal.aborted) throw abortError('flush_cache', ctx.signal, performance.now() - started);
          const [next, keys] = await client.redis.scan(cursor, 'MATCH', config.pattern, 'COUNT', scanCount);
          cursor = next;
          const fresh = keys.filter((k) => !seen.has(k));
          const room = config.maxKeys - seen.size;
          // One more matching key than we may take: the pattern matches more than maxKeys.
          if (fresh.length > room) capped = true;
          const batch = fresh.slice(0, room);
          for (const k of batch) seen.add(k);
          if (batch.length > 0 && !ctx.dryRun) deleted += await client.redis.unlink(...batch);
        } while (cursor !== '0' && !capped);
      } catch (err) {
        if (err instanceof AdapterError && !ctx.signal.aborted) throw err;
        const why = ctx.signal.aborted
          ? abortError('flush_cache', ctx.signal, performance.now() - started).message.replace(
              /^flush_cache: /,
              '',
            )
          : `${err instanceof Error ? err.message : String(err)}${client?.lastError ? ` (last connection error: ${client.lastError})` : ''}`;
        throw new AdapterError('flush_cache', `${why}; ${deleted} keys were deleted before`, {
          retryable: !ctx.signal.aborted,
          cause: err,
        });
      }
      const where = `'${config.pattern}' on ${config.target}`;
      const cap = capped ? `; stopped at maxKeys ${config.maxKeys}, more keys match` : '';
      if (ctx.dryRun)
        return {
          dryRun: true,
          summary: `dry run: would delete ${seen.size} keys matching ${where}${cap}`,
          request,
        };
      // UNLINK counts what existed when it ran: a key that expired after SCAN saw it is not counted.
      return { dryRun: false, summary: `deleted ${deleted} keys matching ${where}${cap}`, request };
    },
    close() {
      closing ??= Promise.all(
        [...clients.values()].map(({ redis }) =>
          redis.status === 'ready' ? redis.quit().then(() => undefined) : redis.disconnect(),
        ),
      ).then(() => undefined);
      return closing;
    },
  };
}
