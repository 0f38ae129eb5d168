import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis/client.ts';

/**
 * The store's Lua scripts. Each one changes an incident and records the event that describes the
 * change in one atomic step: XADD of the event to the incident's timeline, XADD of a reference to
 * it to the global events stream, PUBLISH of the full event on the progress channel, and
 * `updatedAt` (the entry formats: `keys.ts`, "streams and the progress channel"). Scripts reply
 * `{code, …}` where code is `ok`, `missing` (no such incident), `conflict` (a compare-and-set did
 * not match) or `exists`/`same`.
 *
 * Index keys that depend on stored values (the current status, the service) are built inside the
 * script from the prefix with the patterns of `keys.ts`; with a hash-tag prefix they live in the
 * same cluster slot as the declared keys.
 * Mirrored `storeKeys()` functions: incident, firing, dedup, byStatus, byService, byRunbook, bySeverity.
 */

/** A script with its SHA1, for EVALSHA. */
export interface LuaScript {
  source: string;
  sha: string;
}

/**
 * Shared by every script that records an event: `emit()` records ARGV[2], `emit(json)` another
 * event of the same change (a script that records two events, like SET_DECISION).
 * KEYS: 1 incident hash, 2 timeline stream, 3 global events stream.
 * ARGV: 1 incident id, 2 event JSON without `id` and `incidentId` (an object, starting with `{`),
 * 3 events MAXLEN, 4 progress channel, 5 now (ISO); script arguments start at 6.
 * The timeline entry is `event` = ARGV[2] (its key names the incident); the global entry only
 * `iid` = the incident id and `tid` = the timeline id (readers resolve the event from the
 * timeline); the message is the whole event, `{"id":tid,"globalId":gid,"incidentId":…,…}`, so a
 * live follower needs no read.
 */
const EMIT = `
local function emit(json)
  json = json or ARGV[2]
  local tid = redis.call('XADD', KEYS[2], '*', 'event', json)
  local gid = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'iid', ARGV[1], 'tid', tid)
  local rest = string.sub(json, 2)
  if rest ~= '}' then rest = ',' .. rest end
  redis.call('PUBLISH', ARGV[4],
    '{"id":"' .. tid .. '","globalId":"' .. gid .. '","incidentId":' .. cjson.encode(ARGV[1]) .. rest)
  redis.call('HSET', KEYS[1], 'updatedAt', ARGV[5])
  return {'ok', tid, gid}
end
`;

function withSha(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** A script that records an event: the body may call `emit()`. */
const lua = (body: string): LuaScript => withSha(`${EMIT}\n${body}`);

/**
 * Open an incident unless its dedup key names an open one; either way the alert's fingerprint is
 * recorded as firing (with its startsAt) for the incident it lands on, in one round trip. On an
 * existing incident the reply says whether this firing is news ('new': a fingerprint or startsAt
 * not seen) or a repeat ('same': a re-sent notification, an HA twin), and the incident's status.
 * KEYS: 4 dedup key, 5 incidents, 6 status index, 7 service index, 8 runbook index,
 * 9 severity index, 10 open index. ARGV: 6 created ms, 7 prefix, 8 fingerprint, 9 startsAt,
 * 10… hash fields and values.
 */
export const OPEN = lua(`
local existing = redis.call('GET', KEYS[4])
if existing then
  local status = redis.call('HGET', ARGV[7] .. ':incident:' .. existing, 'status')
  if status and status ~= 'resolved' then
    local firing = ARGV[7] .. ':incident:' .. existing .. ':firing'
    local seen = redis.call('HGET', firing, ARGV[8])
    redis.call('HSET', firing, ARGV[8], ARGV[9])
    redis.call('HDEL', ARGV[7] .. ':incident:' .. existing, 'alertResolved')
    return {'exists', existing, seen == ARGV[9] and 'same' or 'new', status}
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'conflict'} end
redis.call('SET', KEYS[4], ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 10))
redis.call('HSET', ARGV[7] .. ':incident:' .. ARGV[1] .. ':firing', ARGV[8], ARGV[9])
for i = 5, 10 do redis.call('ZADD', KEYS[i], ARGV[6], ARGV[1]) end
return emit()
`);

/**
 * Compare-and-set the status. Resolving clears the dedup key (when it still names this incident)
 * and moves the incident from the open index to the resolved one; reopening does the reverse.
 * KEYS: 4 incidents, 5 open index, 6 resolved index. ARGV: 6 new status, 7 prefix, 8 now ms,
 * 9… allowed current statuses.
 */
export const SET_STATUS = lua(`
local id = ARGV[1]
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {'missing'} end
local allowed = false
for i = 9, #ARGV do
  if ARGV[i] == cur then allowed = true break end
end
if not allowed then return {'conflict', cur} end
local to = ARGV[6]
local created = redis.call('ZSCORE', KEYS[4], id) or ARGV[8]
redis.call('HSET', KEYS[1], 'status', to)
if cur ~= to then
  redis.call('ZREM', ARGV[7] .. ':index:status:' .. cur, id)
  redis.call('ZADD', ARGV[7] .. ':index:status:' .. to, created, id)
end
local dedup = ARGV[7] .. ':dedup:' .. redis.call('HGET', KEYS[1], 'key')
if to == 'resolved' and cur ~= 'resolved' then
  redis.call('HSET', KEYS[1], 'resolvedAt', ARGV[5])
  if redis.call('GET', dedup) == id then redis.call('DEL', dedup) end
  redis.call('ZREM', KEYS[5], id)
  redis.call('ZADD', KEYS[6], ARGV[8], id)
elseif cur == 'resolved' and to ~= 'resolved' then
  redis.call('HDEL', KEYS[1], 'resolvedAt')
  redis.call('SET', dedup, id, 'NX')
  redis.call('ZREM', KEYS[6], id)
  redis.call('ZADD', KEYS[5], created, id)
end
return emit()
`);

/**
 * Set hash fields of an existing incident (a verdict, …) and record the event.
 * ARGV: 6… fields and values.
 */
export const SET_FIELDS = lua(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
if #ARGV >= 6 then redis.call('HSET', KEYS[1], unpack(ARGV, 6)) end
return emit()
`);

/**
 * The decision of an incident, in one round trip: moves the status from `triggered`/`diagnosing`
 * to `diagnosed` when it is in one of them (with its event, ARGV[7], whose `from` the caller
 * filled with the status it read), then replaces the plan and sets the decision fields, recorded
 * by the `decision.made` event (ARGV[2]). KEYS: 4 incidents. ARGV: 6 prefix, 7 status event JSON
 * or '' for none, 8 now ms, 9… fields and values.
 * Replies `{'ok', tid, gid, status before, statusTid or '', statusGid or ''}`.
 */
export const SET_DECISION = lua(`
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {'missing'} end
local moved = {'', ''}
if ARGV[7] ~= '' and (cur == 'triggered' or cur == 'diagnosing') then
  local created = redis.call('ZSCORE', KEYS[4], ARGV[1]) or ARGV[8]
  redis.call('HSET', KEYS[1], 'status', 'diagnosed')
  redis.call('ZREM', ARGV[6] .. ':index:status:' .. cur, ARGV[1])
  redis.call('ZADD', ARGV[6] .. ':index:status:diagnosed', created, ARGV[1])
  local r = emit(ARGV[7])
  moved = {r[2], r[3]}
end
local old = redis.call('HGET', KEYS[1], 'planOrder')
if old then
  for _, stepId in ipairs(cjson.decode(old)) do redis.call('HDEL', KEYS[1], 'p:' .. stepId) end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 9))
local reply = emit()
return {'ok', reply[2], reply[3], cur, moved[1], moved[2]}
`);

/**
 * Compare-and-set one plan step's state and merge a patch into it.
 * ARGV: 6 step id, 7 patch JSON object, 8 '1' to check the state or '0', 9… allowed states.
 * Replies `{'ok', tid, gid, stepJson}` or `{'conflict', stepJson or ''}`.
 */
export const UPDATE_STEP = lua(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local field = 'p:' .. ARGV[6]
local raw = redis.call('HGET', KEYS[1], field)
if not raw then return {'conflict', ''} end
local step = cjson.decode(raw)
if ARGV[8] == '1' then
  local allowed = false
  for i = 9, #ARGV do
    if ARGV[i] == step.state then allowed = true break end
  end
  if not allowed then return {'conflict', raw} end
end
for k, v in pairs(cjson.decode(ARGV[7])) do step[k] = v end
step.stepId = ARGV[6]
local json = cjson.encode(step)
redis.call('HSET', KEYS[1], field, json)
local reply = emit()
table.insert(reply, json)
return reply
`);

/**
 * Set a boolean flag when it differs, with its event; `same` when it already had that value;
 * `attended` when ARGV[8] is '1' and a human has the incident (acknowledged) or it is resolved.
 * ARGV: 6 field, 7 '1' or '0', 8 '1' to guard.
 */
export const SET_FLAG = lua(`
local cur = redis.call('HGET', KEYS[1], ARGV[6])
if not cur then return {'missing'} end
if cur == ARGV[7] then return {'same'} end
if ARGV[8] == '1' then
  local st = redis.call('HMGET', KEYS[1], 'acknowledged', 'status')
  if st[1] == '1' or st[2] == 'resolved' then return {'attended'} end
end
redis.call('HSET', KEYS[1], ARGV[6], ARGV[7])
return emit()
`);

/**
 * Delete one incident resolved before the cutoff: hash, timeline and index entries. Replies 1 when
 * deleted, 0 when it was reopened or resolved later. KEYS: 1 incident hash, 2 timeline,
 * 3 incidents, 4 open index, 5 resolved index, 6 firing set, 7 charts. ARGV: 1 id, 2 prefix,
 * 3 cutoff ms.
 */
export const SWEEP_ONE = withSha(`
local id = ARGV[1]
local resolvedMs = redis.call('ZSCORE', KEYS[5], id)
if not resolvedMs or tonumber(resolvedMs) >= tonumber(ARGV[3]) then return 0 end
local h = redis.call('HMGET', KEYS[1], 'status', 'service', 'runbookId', 'severity')
if h[1] and h[1] ~= 'resolved' then return 0 end
local p = ARGV[2] .. ':index:'
if h[1] then
  redis.call('ZREM', p .. 'status:' .. h[1], id)
  redis.call('ZREM', p .. 'service:' .. h[2], id)
  redis.call('ZREM', p .. 'runbook:' .. h[3], id)
  redis.call('ZREM', p .. 'severity:' .. h[4], id)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[6], KEYS[7])
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
redis.call('ZREM', KEYS[5], id)
return 1
`);

/**
 * An alert of the incident stopped firing: forget its fingerprint and, when none fires any more,
 * mark the incident `alertResolved` (OPEN clears the mark on the next firing). Replies how many
 * still fire. KEYS: 1 firing hash, 2 incident hash. ARGV: 1 fingerprint.
 */
export const STOP_FIRING = withSha(`
redis.call('HDEL', KEYS[1], ARGV[1])
local n = redis.call('HLEN', KEYS[1])
if n == 0 and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HSET', KEYS[2], 'alertResolved', '1') end
return n
`);

/** Runs a script by SHA, loading it with EVAL the first time a server has not seen it. */
export async function runScript(
  redis: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (err) {
    // NOSCRIPT is Redis's own error code for "this server has not cached the script".
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return redis.eval(script.source, keys.length, ...keys, ...args);
  }
}
