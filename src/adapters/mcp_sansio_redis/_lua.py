"""The Lua scripts: each store command that reads and writes runs as one script, atomic in Redis.

Every script gets the key prefix as ``ARGV[1]`` and builds key names from it
exactly as ``_layout.KeyLayout`` does (session ids escaped by ``esc``). Numbers
arrive as Python ``repr`` strings, which Lua's ``tonumber`` reads back exactly, so
clock comparisons (``now - t > max_age``) give the same answer as in
``MemoryStore``. Scripts raise ``{err=...}`` on data they cannot read.
"""

from __future__ import annotations

from typing import Final

from ._client import Script

__all__ = [
    "LOAD",
    "SAVE",
    "UPDATE",
    "DELETE",
    "LIST",
    "EXPIRE",
    "CLAIM",
    "LOAD_CLAIM",
    "CLAIM_GET",
    "RELEASE_GET",
    "OPEN",
    "APPEND",
    "READ",
    "SAVE_TASK",
    "LOST_TASKS",
    "LIST_TASKS",
]

_PRELUDE: Final = r"""
local P = ARGV[1]
local function esc(s)
  local e = string.gsub(s, '%%', '%%25')
  e = string.gsub(e, ':', '%%3A')
  return e
end
local function num(s)
  if s == 'inf' or s == '+inf' then return math.huge end
  if s == '-inf' then return -math.huge end
  local n = tonumber(s)
  if n == nil then error({err = 'mcp-sansio: not a number: ' .. tostring(s)}) end
  return n
end
local function head(v)
  local o, s, f, x = string.match(v, '^(%d+) (%d+) ([01]) (%S+)$')
  if o == nil then error({err = 'mcp-sansio: corrupt stream head: ' .. v}) end
  return tonumber(o), tonumber(s), f == '1', x
end
local function pack(o, s, f, x)
  return string.format('%d %d %d %s', o, s, f and 1 or 0, x)
end
local function field(flat, name)
  for i = 1, #flat, 2 do
    if flat[i] == name then return flat[i + 1] end
  end
  error({err = 'mcp-sansio: stored item lacks field ' .. name})
end
local function seq_of(id)
  return tonumber(string.match(id, '^(%d+)-'))
end
local function extend(key, ttl)
  -- Session-level keys: lengthen a TTL, never shorten it (instances may run with different idle timeouts).
  local left = redis.call('PTTL', key)
  if left == -1 or (left >= 0 and left < tonumber(ttl)) then redis.call('PEXPIRE', key, ttl) end
end
-- A session's keys that hold its logs' heads and indexes (see the package docstring). The heads' hash
-- also holds '#', the last order number given (stream keys are alphanumeric, so never '#').
local function log_keys(e)
  return P .. 'streams:' .. e, P .. 'finished:' .. e, P .. 'expiry:' .. e
end
local function drop_session(sid)
  local e = esc(sid)
  local hk, fk, xk = log_keys(e)
  for _, stream in ipairs(redis.call('HKEYS', hk)) do
    if stream ~= '#' then redis.call('DEL', P .. 'log:' .. e .. ':' .. stream) end
  end
  -- Its tasks' records stay until their TTL (their runs may still write them); nobody can list them now.
  redis.call('DEL', hk, fk, xk, P .. 'inflight:' .. e, P .. 'standalone:' .. e, P .. 'tasks:session:' .. e)
  redis.call('ZREM', P .. 'sessions', sid)
  return redis.call('DEL', P .. 'session:' .. e)
end
local function extend_logs(e, ttl)
  local hk, fk, xk = log_keys(e)
  extend(hk, ttl)
  extend(fk, ttl)
  extend(xk, ttl)
end
-- What OpenStream does (see there); now_s is the clock reading as sent (a score bound for ZRANGEBYSCORE).
-- Its cost grows with the logs it drops, not with the logs the session holds: finished logs are
-- indexed by creation order (finished) and by when they expire (expiry).
local function open_log(e, stream, now_s, cap)
  local hk, fk, xk = log_keys(e)
  local logs = P .. 'log:' .. e .. ':'
  local function drop(s)
    redis.call('DEL', logs .. s)
    redis.call('ZREM', fk, s)
    redis.call('ZREM', xk, s)
    return redis.call('HDEL', hk, s)
  end
  for _, s in ipairs(redis.call('ZRANGEBYSCORE', xk, '-inf', now_s)) do drop(s) end
  local count = redis.call('HLEN', hk) - redis.call('HEXISTS', hk, '#')
  while count >= cap do
    local oldest = redis.call('ZRANGE', fk, 0, 0)[1]
    if oldest == nil then break end  -- unfinished logs are never dropped
    count = count - drop(oldest)
  end
  if redis.call('HEXISTS', hk, stream) == 0 then
    redis.call('DEL', logs .. stream)
    redis.call('HSET', hk, stream, pack(redis.call('HINCRBY', hk, '#', 1), 0, false, 'inf'))
  end
end
local function evict(log, now, keep, max_age)
  if redis.call('XLEN', log) > keep then redis.call('XTRIM', log, 'MAXLEN', keep) end
  while true do
    local first = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)[1]
    if first == nil or not (now - num(field(first[2], 't')) > max_age) then return end
    redis.call('XDEL', log, first[1])
  end
end
"""


def _script(name: str, body: str) -> Script:
    return Script(name, _PRELUDE + body)


# ARGV: prefix, session id, now, idle timeout. Reply: the record's flat hash, or {} (unknown or expired).
LOAD: Final = _script(
    "LoadSession",
    r"""
local rec = redis.call('HGETALL', P .. 'session:' .. esc(ARGV[2]))
if #rec == 0 then return {} end
if num(ARGV[3]) - num(field(rec, 'last_seen')) > num(ARGV[4]) then
  drop_session(ARGV[2])
  return {}
end
return rec
""",
)

# ARGV: prefix, session id, last_seen, ttl ms, field/value pairs... Reply: 1.
SAVE: Final = _script(
    "SaveSession",
    r"""
local e = esc(ARGV[2])
local key = P .. 'session:' .. e
redis.call('HSET', key, unpack(ARGV, 5))
redis.call('ZADD', P .. 'sessions', ARGV[3], ARGV[2])
for _, k in ipairs({key, P .. 'sessions', P .. 'inflight:' .. e, P .. 'standalone:' .. e}) do
  extend(k, ARGV[4])
end
extend_logs(e, ARGV[4])
return 1
""",
)

# ARGV: prefix, session id, ttl ms, last_seen|'', state|'', log level JSON|'', then n_add, URIs to add...,
# then URIs to remove. Reply: 1, or 0 when the session is not stored (nothing is created).
# Each field is written on its own; the subscriptions are read, changed and written inside
# the script, so concurrent updates of one session never undo each other.
UPDATE: Final = _script(
    "UpdateSession",
    r"""
local e = esc(ARGV[2])
local key = P .. 'session:' .. e
if redis.call('EXISTS', key) == 0 then return 0 end
if ARGV[4] ~= '' and num(ARGV[4]) > num(redis.call('HGET', key, 'last_seen') or '-inf') then
  redis.call('HSET', key, 'last_seen', ARGV[4])
  redis.call('ZADD', P .. 'sessions', ARGV[4], ARGV[2])
end
if ARGV[5] ~= '' then redis.call('HSET', key, 'state', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', key, 'log_level', ARGV[6]) end
local n_add = tonumber(ARGV[7])
if #ARGV > 7 then
  local ok, subs = pcall(cjson.decode, redis.call('HGET', key, 'subscriptions') or '[]')
  if not ok or type(subs) ~= 'table' then error({err = 'mcp-sansio: corrupt subscriptions of ' .. ARGV[2]}) end
  local set = {}
  for _, uri in ipairs(subs) do set[uri] = true end
  for i = 8, 7 + n_add do set[ARGV[i]] = true end
  for i = 8 + n_add, #ARGV do set[ARGV[i]] = nil end
  local list = {}
  for uri in pairs(set) do list[#list + 1] = uri end
  table.sort(list)
  -- cjson writes an empty table as {}; the record's codec wants a JSON list.
  redis.call('HSET', key, 'subscriptions', #list == 0 and '[]' or cjson.encode(list))
end
for _, k in ipairs({key, P .. 'sessions', P .. 'inflight:' .. e, P .. 'standalone:' .. e}) do
  extend(k, ARGV[3])
end
extend_logs(e, ARGV[3])
return 1
""",
)

# ARGV: prefix, session id. Reply: 1 if the session existed, else 0.
DELETE: Final = _script("DeleteSession", "return drop_session(ARGV[2])\n")

# ARGV: prefix. Reply: the flat hash of every stored record (ids whose record expired are dropped).
LIST: Final = _script(
    "ListSessions",
    r"""
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', P .. 'sessions', 0, -1)) do
  local rec = redis.call('HGETALL', P .. 'session:' .. esc(sid))
  if #rec == 0 then drop_session(sid) else out[#out + 1] = rec end
end
return out
""",
)

# ARGV: prefix, now, idle timeout, upper bound of candidate last_seen scores. Reply: the ids deleted.
EXPIRE: Final = _script(
    "ExpireSessions",
    r"""
local now, idle = num(ARGV[2]), num(ARGV[3])
local gone = {}
local found = redis.call('ZRANGEBYSCORE', P .. 'sessions', '-inf', ARGV[4], 'WITHSCORES')
for i = 1, #found, 2 do
  if now - num(found[i + 1]) > idle then
    drop_session(found[i])
    gone[#gone + 1] = found[i]
  end
end
return gone
""",
)

# ARGV: prefix, session id, request key, limit, ttl ms. Reply: 0 claimed, 1 duplicate, 2 too many.
CLAIM: Final = _script(
    "ClaimRequest",
    r"""
local k = P .. 'inflight:' .. esc(ARGV[2])
if redis.call('SISMEMBER', k, ARGV[3]) == 1 then return 1 end
if redis.call('SCARD', k) >= tonumber(ARGV[4]) then return 2 end
redis.call('SADD', k, ARGV[3])
extend(k, ARGV[5])
return 0
""",
)

# ARGV: prefix, session id, now, idle timeout, principal (as the record's JSON), request key, limit,
# touch after (seconds), ttl ms. Reply: {the record's flat hash or {}, outcome}: outcome as CLAIM's,
# or -1 when nothing was claimed (no such session, or another principal's: then nothing is written).
LOAD_CLAIM: Final = _script(
    "LoadAndClaim",
    r"""
local sid, now = ARGV[2], num(ARGV[3])
local e = esc(sid)
local key = P .. 'session:' .. e
local rec = redis.call('HGETALL', key)
if #rec == 0 then return {{}, -1} end
local last = num(field(rec, 'last_seen'))
if now - last > num(ARGV[4]) then
  drop_session(sid)
  return {{}, -1}
end
local owner = 'null'  -- records stored before sessions were bound to principals have no field
for i = 1, #rec, 2 do
  if rec[i] == 'principal' then owner = rec[i + 1] end
end
if owner ~= ARGV[5] then return {rec, -1} end
local k = P .. 'inflight:' .. e
if now - last >= num(ARGV[8]) and now > last then
  redis.call('HSET', key, 'last_seen', ARGV[3])
  redis.call('ZADD', P .. 'sessions', ARGV[3], sid)
  for i = 1, #rec, 2 do
    if rec[i] == 'last_seen' then rec[i + 1] = ARGV[3] end
  end
  for _, kk in ipairs({key, P .. 'sessions', k, P .. 'standalone:' .. e}) do
    extend(kk, ARGV[9])
  end
  extend_logs(e, ARGV[9])
end
-- As CLAIM, in fewer calls (this runs for every request): SADD tells a duplicate, and a set that
-- was empty is a new key (Redis drops empty sets) whose TTL is set here; a set that stays gets
-- its TTL lengthened with the session's above.
local count = redis.call('SCARD', k)
if count >= tonumber(ARGV[7]) then
  return {rec, redis.call('SISMEMBER', k, ARGV[6]) == 1 and 1 or 2}
end
if redis.call('SADD', k, ARGV[6]) == 0 then return {rec, 1} end
if count == 0 then redis.call('PEXPIRE', k, ARGV[9]) end
return {rec, 0}
""",
)

# ARGV: prefix, session id, holder, now, lease end (now + lease), exclusive (0|1), ttl ms.
# Reply: the cursor if claimed; nil if the session is not stored, or exclusive and another holder's lease runs.
CLAIM_GET: Final = _script(
    "ClaimStandalone",
    r"""
local e = esc(ARGV[2])
if redis.call('EXISTS', P .. 'session:' .. e) == 0 then return nil end
local k = P .. 'standalone:' .. e
local h, x, c = unpack(redis.call('HMGET', k, 'h', 'x', 'c'))
if h and h ~= ARGV[3] and num(x) > num(ARGV[4]) and ARGV[6] == '1' then return nil end
redis.call('HSET', k, 'h', ARGV[3], 'x', ARGV[5])
if not c then
  c = '0'
  redis.call('HSET', k, 'c', c)
end
extend(k, ARGV[7])
return tonumber(c)
""",
)

# ARGV: prefix, session id, holder, delivered, ttl ms. Reply: 1 if recorded, 0 (no claim was ever made, or
# the session is not stored: nothing to record).
RELEASE_GET: Final = _script(
    "ReleaseStandalone",
    r"""
local e = esc(ARGV[2])
local k = P .. 'standalone:' .. e
if redis.call('EXISTS', k) == 0 then return 0 end
if redis.call('EXISTS', P .. 'session:' .. e) == 0 then
  redis.call('DEL', k)
  return 0
end
local h, c = unpack(redis.call('HMGET', k, 'h', 'c'))
if h == ARGV[3] then redis.call('HDEL', k, 'h', 'x') end
if tonumber(ARGV[4]) > tonumber(c or '0') then redis.call('HSET', k, 'c', ARGV[4]) end
extend(k, ARGV[5])
return 1
""",
)

# ARGV: prefix, session id, stream, now, max streams, ttl ms. Reply: 1 (0: no such session, nothing done).
OPEN: Final = _script(
    "OpenStream",
    r"""
local e = esc(ARGV[2])
if redis.call('EXISTS', P .. 'session:' .. e) == 0 then return 0 end
open_log(e, ARGV[3], ARGV[4], tonumber(ARGV[5]))
extend_logs(e, ARGV[6])
return 1
""",
)

# ARGV: prefix, session id, stream, now, keep, max age, final (0|1), expires if final, log ttl ms,
# session ttl ms, max streams ('' for none: the stream is not opened first), then the events' data,
# one or more. Reply: the first event's seq (the others follow it), 0 if no such session (nothing
# kept). The last event is the final one if final is 1.
APPEND: Final = _script(
    "AppendEvents",
    r"""
local sid, stream, now = ARGV[2], ARGV[3], ARGV[4]
local e = esc(sid)
if redis.call('EXISTS', P .. 'session:' .. e) == 0 then return 0 end
if ARGV[11] ~= '' then open_log(e, stream, now, tonumber(ARGV[11])) end
local hk, fk, xk = log_keys(e)
local log = P .. 'log:' .. e .. ':' .. stream
local v = redis.call('HGET', hk, stream)
local o, s, f, x
if v then
  o, s, f, x = head(v)
else
  o, s, f, x = redis.call('HINCRBY', hk, '#', 1), 0, false, 'inf'
  redis.call('DEL', log)
end
local first = s + 1
for i = 12, #ARGV do
  s = s + 1
  if i == #ARGV and ARGV[7] == '1' then
    redis.call('XADD', log, string.format('%d-0', s), 'd', ARGV[i], 't', now, 'f', '1')
    f, x = true, ARGV[8]
  else
    redis.call('XADD', log, string.format('%d-0', s), 'd', ARGV[i], 't', now)
  end
end
evict(log, num(now), tonumber(ARGV[5]), num(ARGV[6]))
redis.call('HSET', hk, stream, pack(o, s, f, x))
if ARGV[7] == '1' then
  -- Indexed for open_log: by creation order, and by expiry unless it never expires.
  redis.call('ZADD', fk, o, stream)
  if num(x) == math.huge then redis.call('ZREM', xk, stream) else redis.call('ZADD', xk, x, stream) end
end
redis.call('PEXPIRE', log, ARGV[9])
extend_logs(e, ARGV[10])
return first
""",
)

# ARGV: prefix, session id, stream, first entry id wanted ('' for none), now, max age.
# Reply: {0} (unknown or expired), or {1, first_seq, last_seq, final 0|1, {seq, data, seq, data, ...}}.
READ: Final = _script(
    "ReadEvents",
    r"""
local e = esc(ARGV[2])
local v = redis.call('HGET', P .. 'streams:' .. e, ARGV[3])
if not v then return {0} end
local _, s, f, x = head(v)
local now = num(ARGV[5])
if num(x) <= now then return {0} end
local log = P .. 'log:' .. e .. ':' .. ARGV[3]
evict(log, now, math.huge, num(ARGV[6]))
local first = s + 1
local oldest = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)[1]
if oldest ~= nil then first = seq_of(oldest[1]) end
local events = {}
if ARGV[4] ~= '' then
  for _, entry in ipairs(redis.call('XRANGE', log, ARGV[4], '+')) do
    events[#events + 1] = seq_of(entry[1])
    events[#events + 1] = field(entry[2], 'd')
  end
end
return {1, first, s, f and 1 or 0, events}
""",
)


# Tasks. P task:<id> is a HASH: v=<version>, r=<the record as JSON>; P tasks:lease a ZSET of the
# working tasks' ids by lease end; P tasks:session:<sid> a ZSET of a session's task positions.
# ARGV: prefix, task id, expected version or '' (create), new version, record JSON, ttl ms,
# lease end or '' (not working), session id or '' (none), list position.
# Reply: 1 if stored, 0 if the stored version differs (or exists).
SAVE_TASK: Final = _script(
    "SaveTask",
    r"""
local key = P .. 'task:' .. esc(ARGV[2])
local current = redis.call('HGET', key, 'v')
if ARGV[3] == '' then
  if current then return 0 end
elseif current ~= ARGV[3] then
  return 0
end
redis.call('HSET', key, 'v', ARGV[4], 'r', ARGV[5])
redis.call('PEXPIRE', key, ARGV[6])
if ARGV[7] ~= '' then
  redis.call('ZADD', P .. 'tasks:lease', ARGV[7], ARGV[2])
else
  redis.call('ZREM', P .. 'tasks:lease', ARGV[2])
end
if ARGV[3] == '' and ARGV[8] ~= '' then
  -- A session's new task joins its list, which lives as long as its longest-lived task.
  local list = P .. 'tasks:session:' .. esc(ARGV[8])
  redis.call('ZADD', list, 0, ARGV[9])
  extend(list, ARGV[6])
end
return 1
""",
)

# ARGV: prefix, session id, after (a position, '' for the start), limit, now. Reply: the JSON of up to
# `limit` + 1 unexpired records of the session's tasks after `after`, in position order (the extra
# one says more follow). Entries whose record expired leave the list on the way.
LIST_TASKS: Final = _script(
    "ListTasks",
    r"""
local list = P .. 'tasks:session:' .. esc(ARGV[2])
local want, now = tonumber(ARGV[4]) + 1, num(ARGV[5])
local from = ARGV[3] == '' and '-' or '(' .. ARGV[3]
local out = {}
while #out < want do
  local batch = redis.call('ZRANGEBYLEX', list, from, '+', 'LIMIT', 0, want - #out)
  if #batch == 0 then break end
  for _, position in ipairs(batch) do
    local raw = redis.call('HGET', P .. 'task:' .. esc(string.match(position, '^%d+:(.*)$')), 'r')
    local live = false
    if raw then
      local record = cjson.decode(raw)
      live = record.created_at + record.ttl_ms / 1000 > now
    end
    if live then out[#out + 1] = raw else redis.call('ZREM', list, position) end
    from = '(' .. position
  end
end
return out
""",
)

# ARGV: prefix, now, limit. Reply: the JSON of up to `limit` records whose lease ended before now
# (ids whose record expired are dropped from the lease index on the way).
LOST_TASKS: Final = _script(
    "LostTasks",
    r"""
local out = {}
local ids = redis.call('ZRANGEBYSCORE', P .. 'tasks:lease', '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  local record = redis.call('HGET', P .. 'task:' .. esc(id), 'r')
  if record then out[#out + 1] = record else redis.call('ZREM', P .. 'tasks:lease', id) end
end
return out
""",
)
