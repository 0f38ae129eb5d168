import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../redis/client.ts';
import { storeKeys } from './keys.ts';

/**
 * Links to one chart image that need no token, for Slack (which fetches the image itself): the
 * incident, the chart and an expiry, signed with HMAC-SHA256 under a key kept in Redis (made once
 * by whichever process needs it first; every API and worker process of the deployment shares it).
 * A link opens that one PNG until it expires, nothing else.
 */

/** How long a link in a Slack message keeps working. */
export const CHART_LINK_TTL_MS = 7 * 24 * 3600_000;

export interface ChartLinks {
  /** The path and query of a signed link to the chart's PNG, valid until `expiresAt` (unix ms). */
  sign(incidentId: string, key: string, expiresAt: number): Promise<string>;
  /** Whether `sig` signs this chart until `expiresAt`, and `expiresAt` is still ahead of `now`. */
  verify(incidentId: string, key: string, expiresAt: number, sig: string, now: number): Promise<boolean>;
}

/** Where a signed chart image is served (src/producer/routes/incidents.ts). */
function signedChartPath(incidentId: string, key: string): string {
  return `/api/v1/chart-images/${encodeURIComponent(incidentId)}/${encodeURIComponent(key)}.png`;
}

export function createChartLinks(redis: RedisClient, prefix: string): ChartLinks {
  const name = storeKeys(prefix).chartLinkKey;
  let key: Promise<Buffer> | undefined;
  const secret = () => {
    key ??= (async () => {
      // SET NX: the first process makes the key, every later one reads it.
      await redis.set(name, randomBytes(32).toString('base64'), 'NX');
      const stored = await redis.get(name);
      if (!stored) throw new Error(`chart link key ${name} vanished right after it was set`);
      return Buffer.from(stored, 'base64');
    })().catch((err: unknown) => {
      key = undefined; // Redis was away: the next call tries again
      throw err;
    });
    return key;
  };
  const mac = async (incidentId: string, chartKey: string, expiresAt: number) =>
    createHmac('sha256', await secret())
      .update(`${incidentId}\n${chartKey}\n${expiresAt}`)
      .digest('base64url');
  return {
    async sign(incidentId, chartKey, expiresAt) {
      const sig = await mac(incidentId, chartKey, expiresAt);
      return `${signedChartPath(incidentId, chartKey)}?exp=${expiresAt}&sig=${sig}`;
    },
    async verify(incidentId, chartKey, expiresAt, sig, now) {
      if (!Number.isSafeInteger(expiresAt) || expiresAt <= now) return false;
      const expected = Buffer.from(await mac(incidentId, chartKey, expiresAt));
      const given = Buffer.from(sig);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
