import { ReplyError } from 'ioredis';
import type { RedisClient } from './client.ts';

/** What `fireline doctor` reports of a Redis: how it keeps data and what it drops when full. */
export interface RedisSettings {
  /** `aof_enabled` of INFO persistence. */
  aof: boolean;
  /** `CONFIG GET save` (RDB snapshot rules, '' = none), or null when CONFIG is refused (managed Redis). */
  rdbSave: string | null;
  /** `maxmemory_policy` of INFO memory (readable where CONFIG is not). */
  maxmemoryPolicy: string;
  /** `redis_version` of INFO server. */
  version: string;
}

/** `field:value` lines of an INFO answer. */
function infoFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) out.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return out;
}

/**
 * Reads the settings with INFO (allowed everywhere) and `CONFIG GET save` (refused on some managed
 * Redis: then `rdbSave` is null). On a Cluster, the node ioredis picks answers.
 */
export async function readRedisSettings(client: RedisClient): Promise<RedisSettings> {
  const info = infoFields(
    [await client.info('server'), await client.info('persistence'), await client.info('memory')].join('\n'),
  );
  let rdbSave: string | null;
  try {
    const reply = (await client.config('GET', 'save')) as unknown as string[];
    rdbSave = reply[1] ?? '';
  } catch (err) {
    // A managed Redis answers CONFIG with an error reply (unknown command, NOPERM): unreadable, not broken.
    if (!(err instanceof ReplyError)) throw err;
    rdbSave = null;
  }
  return {
    aof: info.get('aof_enabled') === '1',
    rdbSave,
    maxmemoryPolicy: info.get('maxmemory_policy') ?? 'unknown',
    version: info.get('redis_version') ?? 'unknown',
  };
}
