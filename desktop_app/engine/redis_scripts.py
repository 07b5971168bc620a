"""The Lua scripts of the Redis store and lockables: each change is one of these, atomic and one round trip.

A namespace NS lives under keys with the hash tag ``{NS}`` (so a script's keys share a cluster slot):

    sss:{NS}:values    hash  key -> the value as JSON (what a "pode" state file holds)
    sss:{NS}:meta      hash  key -> three lines: SCOPE_JSON, VERSION,TIME,"HOST:PID/THREAD", NAME
    sss:{NS}:version   int   the shared version, +1 per change
    sss:{NS}:feed      stream of change records, ID "VERSION-0", capped with MAXLEN ~
    sss:{NS}:lock:L    string the holder's token, with a lease (PX); L is the casefolded lock name
    sss:{NS}:lockinfo:L string the holder as JSON (who, site, since), same lease
    sss:{NS}:lockwait:L zset waiters ("TOKEN WHO", scored by when their registration expires)
    sss:{NS}:wake:TOKEN list a waiter's private wake-up list (BLPOP), pushed by a release
    sss:{NS}:lockhungry:L string the waiter a release must hand L to (it waited too long)
    sss:{NS}:lockevents stream of lock uses (the studio's timeline), capped, sent in batches
    sss:{NS}:proc:HOST:PID string a process's heartbeat, with a short TTL

Keys (hash fields) are casefolded names; NAME is the name as first written, last in the meta so it
may hold any character (the scope JSON and the info part never hold a raw newline). Two hashes
rather than one key per entry: a change is two HSETs, ``names()`` is one HGETALL of the small meta
hash, and a replacing restore is one DEL of each (see bench/redis_bench.py B3).

Every write script starts with the fencing check: KEYS after the four data keys are the lock keys
the writing thread holds and ARGV[1..n] their tokens; if one is no longer current nothing is
written and the script answers ``{-1, lock key}`` (LockLost).
"""

from __future__ import annotations

# KEYS[1..4] = values, meta, version, feed; KEYS[5..] = fence lock keys.
# ARGV[1..nf] = fence tokens, then the script's own arguments from ARGV[a + 1].
_PRELUDE = """
local nf = #KEYS - 4
for i = 1, nf do
  if redis.call('GET', KEYS[4 + i]) ~= ARGV[i] then
    return {-1, KEYS[4 + i]}
  end
end
local a = nf
local function bump(op, name, when, who, maxlen, old)
  local v = redis.call('INCR', KEYS[3])
  -- pcall: a feed that cannot take this ID (its keys edited by hand) must not stop the change
  -- half-way (a script is not rolled back); readers then see a gap and resynchronise.
  if old then
    redis.pcall('XADD', KEYS[4], 'MAXLEN', '~', maxlen, v .. '-0',
      'op', op, 'name', name, 'time', when, 'thread', who, 'old', old)
  else
    redis.pcall('XADD', KEYS[4], 'MAXLEN', '~', maxlen, v .. '-0',
      'op', op, 'name', name, 'time', when, 'thread', who)
  end
  return v
end
-- meta = scope \\n info \\n name
local function split(meta)
  local i = string.find(meta, '\\n', 1, true)
  local j = string.find(meta, '\\n', i + 1, true)
  return string.sub(meta, 1, i - 1), string.sub(meta, j + 1)
end
"""

SET = (
    _PRELUDE
    + """
-- key, name, value, scope ('' keeps it), time, who, who as JSON, maxlen, op, must exist ('1')
local key = ARGV[a + 1]
local old = redis.call('HGET', KEYS[2], key)
local scope, shown = ARGV[a + 4], ARGV[a + 2]
if old then
  local old_scope
  old_scope, shown = split(old)
  if scope == '' then scope = old_scope end
elseif ARGV[a + 10] == '1' then
  return {0}
end
if scope == '' then scope = '[]' end
local v = bump(ARGV[a + 9], shown, ARGV[a + 5], ARGV[a + 6], ARGV[a + 8])
redis.call('HSET', KEYS[1], key, ARGV[a + 3])
redis.call('HSET', KEYS[2], key, scope .. '\\n' .. v .. ',' .. ARGV[a + 5] .. ',' .. ARGV[a + 7] .. '\\n' .. shown)
return {1, v}
"""
)

TOUCH = (
    _PRELUDE
    + """
-- key, time, who, who as JSON, maxlen
local key = ARGV[a + 1]
local old = redis.call('HGET', KEYS[2], key)
if not old then return {0} end
local scope, shown = split(old)
local v = bump('touch', shown, ARGV[a + 2], ARGV[a + 3], ARGV[a + 5])
redis.call('HSET', KEYS[2], key, scope .. '\\n' .. v .. ',' .. ARGV[a + 2] .. ',' .. ARGV[a + 4] .. '\\n' .. shown)
return {1, v}
"""
)

SET_SCOPE = (
    _PRELUDE
    + """
-- key, scope, time, who, who as JSON, maxlen
local key = ARGV[a + 1]
local old = redis.call('HGET', KEYS[2], key)
if not old then return {0} end
local _, shown = split(old)
local v = bump('set', shown, ARGV[a + 3], ARGV[a + 4], ARGV[a + 6])
redis.call('HSET', KEYS[2], key, ARGV[a + 2] .. '\\n' .. v .. ',' .. ARGV[a + 3] .. ',' .. ARGV[a + 5] .. '\\n' .. shown)
return {1, v}
"""
)

REMOVE = (
    _PRELUDE
    + """
-- key, time, who, maxlen
local key = ARGV[a + 1]
local old = redis.call('HGET', KEYS[2], key)
if not old then return {0} end
local _, shown = split(old)
local value = redis.call('HGET', KEYS[1], key)
redis.call('HDEL', KEYS[1], key)
redis.call('HDEL', KEYS[2], key)
local v = bump('remove', shown, ARGV[a + 2], ARGV[a + 3], ARGV[a + 4])
return {1, v, value}
"""
)

RENAME = (
    _PRELUDE
    + """
-- key, new key, new name, time, who, who as JSON, maxlen
local key, new = ARGV[a + 1], ARGV[a + 2]
local old = redis.call('HGET', KEYS[2], key)
if not old then return {0} end
local scope, shown = split(old)
if new ~= key then
  local taken = redis.call('HGET', KEYS[2], new)
  if taken then
    local _, taken_name = split(taken)
    return {2, taken_name}
  end
end
local value = redis.call('HGET', KEYS[1], key)
redis.call('HDEL', KEYS[1], key)
redis.call('HDEL', KEYS[2], key)
local v = bump('rename', ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 7], shown)
redis.call('HSET', KEYS[1], new, value)
redis.call('HSET', KEYS[2], new, scope .. '\\n' .. v .. ',' .. ARGV[a + 4] .. ',' .. ARGV[a + 6] .. '\\n' .. ARGV[a + 3])
return {1, v}
"""
)

LOAD = (
    _PRELUDE
    + """
-- merge ('1' or '0'), time, who, who as JSON, maxlen, items: a msgpack array of
-- key, name, scope JSON, value JSON for each entry (one argument, however many entries)
local merge = ARGV[a + 1] == '1'
local when, who, whoj, maxlen = ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
local items = cmsgpack.unpack(ARGV[a + 6])
local v
if not merge then
  redis.call('DEL', KEYS[1], KEYS[2])
  v = bump('reset', '', when, who, maxlen)
end
for i = 1, #items, 4 do
  local key = items[i]
  local shown = items[i + 1]
  if merge then
    local old = redis.call('HGET', KEYS[2], key)
    if old then
      local _
      _, shown = split(old)
    end
    v = bump('set', shown, when, who, maxlen)
  end
  redis.call('HSET', KEYS[1], key, items[i + 3])
  redis.call('HSET', KEYS[2], key, items[i + 2] .. '\\n' .. v .. ',' .. when .. ',' .. whoj .. '\\n' .. shown)
end
return {1, v or 0}
"""
)

ENTRY = """
-- KEYS: values, meta; ARGV: key -> {value, meta} or {}
local meta = redis.call('HGET', KEYS[2], ARGV[1])
if not meta then return {} end
return {redis.call('HGET', KEYS[1], ARGV[1]), meta}
"""

# -- lockables ----------------------------------------------------------------------------------
#
# Like Go's sync.Mutex: in normal mode a free lock goes to whoever asks first (a process that
# releases and asks again keeps it, with no wake-up to pay for); a waiter that has waited longer
# than the starvation threshold marks itself hungry (the ``lockhungry`` key), and from then on a
# release hands the lock straight to it and nobody else may take it meanwhile.

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# push to the first live waiter's wake-up list (its BLPOP returns); KEYS[3] = lockwait
_WAKE_FIRST = """
local function wake_first(prefix, ttl)
  local first = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
  if first then
    redis.call('ZREM', KEYS[3], first)
    local wake = prefix .. string.match(first, '^%S+')
    redis.call('RPUSH', wake, '1')
    redis.call('PEXPIRE', wake, ttl)
    return 1
  end
  return 0
end
"""

ACQUIRE = (
    """
-- KEYS: lock, lockinfo, lockwait, this attempt's wake list, lockhungry
-- ARGV: token, lease ms, holder JSON, waiter member ("TOKEN WHO"), registration ms,
--       register ('1'/'0'), hungry ('1'/'0')
-- -> {1} taken; {0, holder JSON or '', ms left on the holder's lease}
local cur = redis.call('GET', KEYS[1])
local take = cur == ARGV[1]  -- a release handed it to us
if not cur then
  local hungry = redis.call('GET', KEYS[5])
  take = (not hungry) or hungry == ARGV[4]
  if take and hungry then redis.call('DEL', KEYS[5]) end
end
if take then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[4])
  redis.call('DEL', KEYS[4])
  return {1}
end
if ARGV[6] == '1' then
"""
    + _NOW_MS
    + """
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), ARGV[4])
  redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[5]) * 2)
  if ARGV[7] == '1' then
    redis.call('SET', KEYS[5], ARGV[4], 'NX', 'PX', ARGV[5])
  end
end
return {0, redis.call('GET', KEYS[2]) or '', redis.call('PTTL', KEYS[1])}
"""
)

RELEASE = (
    """
-- KEYS: lock, lockinfo, lockwait, lockhungry
-- ARGV: token, wake-list key prefix, wake-list ms, hand-over lease ms
-- -> {1 released | 0 the token was no longer current (lost: nothing freed), waiters left, handed over}
local mine = redis.call('GET', KEYS[1]) == ARGV[1]
local waiters, handed = 0, 0
if mine then
  redis.call('DEL', KEYS[1], KEYS[2])
"""
    + _NOW_MS
    + """
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  local hungry = redis.call('GET', KEYS[4])
  if hungry then
    redis.call('DEL', KEYS[4])
    if redis.call('ZSCORE', KEYS[3], hungry) then
      -- hand over: the lock is the starving waiter's until it takes it (or a short lease ends)
      local token = string.match(hungry, '^%S+')
      local who = string.match(hungry, '^%S+ (.*)$') or '?'
      redis.call('SET', KEYS[1], token, 'PX', ARGV[4])
      redis.call('SET', KEYS[2], cjson.encode({who = who, site = '(handed over)', since = now / 1000}),
        'PX', ARGV[4])
      redis.call('ZREM', KEYS[3], hungry)
      local wake = ARGV[2] .. token
      redis.call('RPUSH', wake, '1')
      redis.call('PEXPIRE', wake, ARGV[3])
      handed = 1
    end
  end
  waiters = redis.call('ZCARD', KEYS[3])
end
return {mine and 1 or 0, waiters, handed}
"""
)

WAKE = (
    """
-- KEYS: lock, (unused), lockwait; ARGV: wake-list key prefix, wake-list ms
-- a release's wake-up, sent a moment later unless the releasing process took the lock again
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
"""
    + _NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
"""
    + _WAKE_FIRST
    + """
return wake_first(ARGV[1], ARGV[2])
"""
)

LEAVE = (
    """
-- KEYS: lock, lockinfo, lockwait, this attempt's wake list, lockhungry
-- ARGV: token, waiter member, wake-list key prefix, wake-list ms
-- a waiter gives up: leave the wait set; a lock handed to it meanwhile goes to the next waiter
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[4])
if redis.call('GET', KEYS[5]) == ARGV[2] then redis.call('DEL', KEYS[5]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
"""
    + _WAKE_FIRST
    + """
  wake_first(ARGV[3], ARGV[4])
end
return 1
"""
)

EXTEND = """
-- KEYS: lock, lockinfo; ARGV: token, lease ms -> 1 extended, 0 no longer ours
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""
