import type { RedisClient } from './client.ts';

/**
 * What a 2xx (and an action's start) waits for (docs/ARCHITECTURE.md "Durability"):
 * - `primary`: the write is on the primary. A primary that dies before its replicas have it loses it.
 * - `replica`: at least one replica has acknowledged it too (Redis `WAIT`, bounded), so a failover
 *   to that replica keeps it.
 */
export type DurabilityMode = 'primary' | 'replica';

/** Why a write could not be confirmed on a replica in time. */
export interface Unconfirmed {
  ok: false;
  /** For logs and the 503's detail, e.g. "0 of 1 replicas acknowledged within 2000 ms". */
  reason: string;
}

export interface Durability {
  readonly mode: DurabilityMode;
  /**
   * Resolves once every write this process made before the call is on a replica too (in `replica`
   * mode; at once in `primary` mode), or with why that could not be confirmed in time.
   */
  confirm(): Promise<{ ok: true } | Unconfirmed>;
}

export interface DurabilityOptions {
  mode: DurabilityMode;
  /** How many replicas must acknowledge (1). */
  replicas?: number;
  /** Longest one confirmation waits for the replicas. */
  timeoutMs: number;
  /**
   * A connection of its own (producer role; its owner closes it): `WAIT` blocks the connection it
   * is sent on. Not used (and may be omitted) in `primary` mode.
   */
  connection?: RedisClient;
  /** A key in Fireline's hash slot, written before each `WAIT` (on a Cluster, it routes both). */
  sequenceKey: string;
}

/**
 * `WAIT` only covers the writes of the connection it is sent on, and Fireline writes on several.
 * The replication offset is global, though: a write on the dedicated connection made after the
 * caller's writes ended is ordered after them, and `WAIT` for it covers them all. So each round
 * is `INCR sequenceKey` + `WAIT n timeout`, pipelined (one round trip; on a Cluster, to the node
 * that serves Fireline's slot). Callers that arrive while a round is out share the next one
 * (group commit): one `WAIT` in flight, however many requests wait.
 */
export function createDurability(opts: DurabilityOptions): Durability {
  const replicas = opts.replicas ?? 1;
  if (opts.mode === 'primary') return { mode: 'primary', confirm: async () => ({ ok: true }) };
  const connection = opts.connection;
  if (!connection) throw new Error('durability mode replica needs a connection of its own');
  let inFlight: Promise<{ ok: true } | Unconfirmed> | null = null;
  let next: Promise<{ ok: true } | Unconfirmed> | null = null;

  async function round(rerouted = false): Promise<{ ok: true } | Unconfirmed> {
    if (connection?.status !== 'ready')
      return { ok: false, reason: `the Redis connection is ${connection?.status}` };
    let results: [Error | null, unknown][] | null;
    try {
      results = await connection.pipeline().incr(opts.sequenceKey).wait(replicas, opts.timeoutMs).exec();
    } catch (err) {
      return { ok: false, reason: `WAIT failed: ${(err as Error).message}` };
    }
    const failed = results?.find(([err]) => err);
    // After a Cluster failover the slot has moved. ioredis follows MOVED for a lone command but not
    // for a pipeline holding a write: send the INCR alone, so it learns the new master, then retry.
    if (failed?.[0] && /^(MOVED|ASK) /.test(failed[0].message) && !rerouted) {
      try {
        await connection.incr(opts.sequenceKey);
      } catch (err) {
        return { ok: false, reason: `WAIT failed: ${(err as Error).message}` };
      }
      return round(true);
    }
    if (!results || failed)
      return { ok: false, reason: `WAIT failed: ${failed?.[0]?.message ?? 'no reply'}` };
    const acked = Number(results[1]?.[1]);
    if (acked >= replicas) return { ok: true };
    return {
      ok: false,
      reason: `${acked} of ${replicas} replica${replicas === 1 ? '' : 's'} acknowledged within ${opts.timeoutMs} ms`,
    };
  }

  return {
    mode: 'replica',
    confirm() {
      // A round already out may have sent its INCR before this caller's writes: wait for the next.
      if (!inFlight) {
        inFlight = round().finally(() => {
          inFlight = null;
        });
        return inFlight;
      }
      // (`round` never rejects: a failure is an answer.)
      next ??= inFlight.then(() => {
        next = null;
        inFlight = round().finally(() => {
          inFlight = null;
        });
        return inFlight;
      });
      return next;
    },
  };
}
