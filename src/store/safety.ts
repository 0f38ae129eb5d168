import type { RedisClient } from '../redis/client.ts';
import { storeKeys } from './keys.ts';

/**
 * Remediation safety state in Redis (docs/ARCHITECTURE.md "Remediation safety"): one action at a time per
 * target, an hourly budget per action and target, a cooldown per step and target, and the
 * at-most-once marker of each action of an incident. Every check-and-change is one atomic step.
 */
export interface Safety {
  /**
   * One remediation per target at a time; `owner` (the job id) must release it. Re-entrant for the
   * same owner: a job handed to a new worker after its first worker died takes its own lock back
   * instead of waiting for it to expire. An owner that finds the target busy joins its waiters
   * (oldest first), to be woken when the lock is released rather than poll for it.
   */
  lockTarget(target: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock when `owner` holds it; returns the waiters to wake, oldest first. */
  unlockTarget(target: string, owner: string): Promise<string[]>;
  /** Whether some owner holds the target. */
  isLocked(target: string): Promise<boolean>;
  /** Forgets a waiter that will never take the lock (its job is gone). */
  dropWaiter(target: string, owner: string): Promise<void>;
  /**
   * Counts one run against `max` per rolling hour; false (and nothing counted) when the budget is
   * spent. `member` makes a re-run of the same job count once.
   */
  takeBudget(actionType: string, target: string, max: number, member: string): Promise<boolean>;
  /**
   * False while the step is cooling down on that target; otherwise starts the cooldown. `member`
   * (the incident's step) owns the cooldown it started: a retry of the same run is not blocked.
   */
  startCooldown(stepId: string, target: string, cooldownMs: number, member: string): Promise<boolean>;
  /**
   * Records that an action is starting. Returns the previous record: null the first time; `started`
   * when a worker died mid-action (outcome unknown); or the final outcome of an earlier run.
   */
  markStarted(incidentId: string, stepId: string): Promise<string | null>;
  markFinished(incidentId: string, stepId: string, outcome: string): Promise<void>;
}

const LOCK = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`;
const UNLOCK = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {} end
redis.call('DEL', KEYS[1])
return redis.call('ZRANGE', KEYS[2], 0, -1)`;
const BUDGET = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 3600000)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], 3600000)
return 1`;
const COOLDOWN = `
local cur = redis.call('GET', KEYS[1])
if cur then return cur == ARGV[2] and 1 or 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
return 1`;
const MARK_STARTED = `
local prev = redis.call('GET', KEYS[1])
if not prev then redis.call('SET', KEYS[1], 'started', 'PX', ARGV[1]) end
return prev`;

/** Markers outlive any plausible retry of the action (a week). */
const MARKER_TTL_MS = 7 * 24 * 3600 * 1000;

export function createSafety(redis: RedisClient, prefix: string, now: () => number = Date.now): Safety {
  const keys = storeKeys(prefix);
  return {
    async lockTarget(target, owner, ttlMs) {
      return (await redis.eval(LOCK, 2, keys.lock(target), keys.waiters(target), owner, ttlMs, now())) === 1;
    },
    async unlockTarget(target, owner) {
      return (await redis.eval(UNLOCK, 2, keys.lock(target), keys.waiters(target), owner)) as string[];
    },
    async isLocked(target) {
      return (await redis.exists(keys.lock(target))) === 1;
    },
    async dropWaiter(target, owner) {
      await redis.zrem(keys.waiters(target), owner);
    },
    async takeBudget(actionType, target, max, member) {
      return (await redis.eval(BUDGET, 1, keys.budget(actionType, target), now(), max, member)) === 1;
    },
    async startCooldown(stepId, target, cooldownMs, member) {
      if (cooldownMs <= 0) return true;
      return (await redis.eval(COOLDOWN, 1, keys.cooldown(stepId, target), cooldownMs, member)) === 1;
    },
    async markStarted(incidentId, stepId) {
      return (await redis.eval(MARK_STARTED, 1, keys.action(incidentId, stepId), MARKER_TTL_MS)) as
        | string
        | null;
    },
    async markFinished(incidentId, stepId, outcome) {
      await redis.set(keys.action(incidentId, stepId), outcome, 'PX', MARKER_TTL_MS);
    },
  };
}
