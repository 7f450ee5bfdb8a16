"""The algorithms of ``algorithms.py`` in Lua, run atomically inside Redis.

Each script mirrors its Python twin operation for operation (same order of
float operations, constants derived in Python and passed in) so a decision
made in Redis equals the one made in memory. Floats travel as ``%.17g``
strings both ways, which round-trip IEEE doubles exactly. The time ``now``
is an argument, never Redis ``TIME``, so a virtual clock works.

State lives in one hash per key: ``a`` and ``b`` are the two numbers of
``State``; the counter quota also keeps ``e``, the end of its period. As in
memory, a rejection that leaves the state as it was writes nothing and keeps
the key's expiry.
"""

from __future__ import annotations

_PRELUDE = """
local function fmt(x) return string.format('%.17g', x) end
"""

TOKEN_BUCKET = (
    _PRELUDE
    + """
-- ARGV: now cost burst refill_rate interval(0|1) interval_s per_interval
--       tolerance slack epsilon ttl_ms
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local rate = tonumber(ARGV[4])
local interval = ARGV[5] == '1'
local interval_s = tonumber(ARGV[6])
local per_interval = tonumber(ARGV[7])
local tolerance = tonumber(ARGV[8])
local slack = tonumber(ARGV[9])
local epsilon = tonumber(ARGV[10])
local ttl_ms = tonumber(ARGV[11])

local function boundary(t) return math.floor((t + slack) / interval_s) end

local function wait(tokens, target, t)
  if not interval then
    local missing = target - tokens
    if missing > 0 then return missing / rate end
    return 0.0
  end
  local missing = target - tokens - epsilon
  if missing > 0 then
    local boundaries = boundary(t) + math.ceil(missing / per_interval)
    return math.max(0.0, boundaries * interval_s - t)
  end
  return 0.0
end

local stored = redis.call('HMGET', KEYS[1], 'a', 'b')
local tokens, t
if stored[1] then
  local updated = tonumber(stored[2])
  t = math.max(now, updated)
  tokens = tonumber(stored[1])
  if interval then
    local crossed = boundary(t) - boundary(updated)
    if crossed > 0 then tokens = math.min(burst, tokens + crossed * per_interval) end
  else
    tokens = math.min(burst, tokens + (t - updated) * rate)
  end
else
  tokens = burst
  t = now
end
local allowed = tokens + tolerance >= cost
if allowed then tokens = tokens - cost end
local remaining = math.max(0, math.floor(tokens + tolerance))
local reset_at = t + wait(tokens, burst, t)
local retry_after = 0.0
if not allowed then
  retry_after = math.max(0.0, (t - now) + wait(tokens, math.min(cost, burst), t))
end
if allowed or not stored[1] then
  redis.call('HSET', KEYS[1], 'a', fmt(tokens), 'b', fmt(t))
  redis.call('PEXPIRE', KEYS[1], ttl_ms)
end
return {allowed and 1 or 0, remaining, fmt(reset_at), fmt(retry_after)}
"""
)

FIXED_WINDOW = (
    _PRELUDE
    + """
-- ARGV: now cost limit window_s epoch(0|1) slack ttl_ms
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local window_s = tonumber(ARGV[4])
local epoch = ARGV[5] == '1'
local slack = tonumber(ARGV[6])
local ttl_ms = tonumber(ARGV[7])

local stored = redis.call('HMGET', KEYS[1], 'a', 'b')
local start, count
if stored[1] and now + slack < tonumber(stored[1]) + window_s then
  start = tonumber(stored[1])
  count = tonumber(stored[2])
else
  if epoch then
    start = math.floor((now + slack) / window_s) * window_s
  else
    start = now
  end
  count = 0.0
end
local reset_at = start + window_s
local allowed = count + cost <= limit
if allowed then count = count + cost end
local remaining = math.max(0, limit - count)
local retry_after = 0.0
if not allowed then retry_after = math.max(0.0, (start - now) + window_s) end
if allowed or not stored[1] or start ~= tonumber(stored[1]) or count ~= tonumber(stored[2]) then
  redis.call('HSET', KEYS[1], 'a', fmt(start), 'b', fmt(count))
  redis.call('PEXPIRE', KEYS[1], ttl_ms)
end
return {allowed and 1 or 0, remaining, fmt(reset_at), fmt(retry_after)}
"""
)

COUNTER_QUOTA = (
    _PRELUDE
    + """
-- ARGV: now cost limit period_start period_end ttl_ms
-- Calendar arithmetic stays in Python: it passes the bounds of now's period.
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local start = tonumber(ARGV[4])
local period_end = tonumber(ARGV[5])
local ttl_ms = tonumber(ARGV[6])

local stored = redis.call('HMGET', KEYS[1], 'a', 'b', 'e')
local count = 0.0
if stored[1] then
  local stored_start = tonumber(stored[1])
  if stored_start == start then
    count = tonumber(stored[2])
  elseif stored_start > start then
    start = stored_start
    period_end = tonumber(stored[3])
    count = tonumber(stored[2])
  end
end
local allowed = count + cost <= limit
if allowed then count = count + cost end
local remaining = math.max(0, limit - count)
local retry_after = 0.0
if not allowed then retry_after = math.max(0.0, period_end - now) end
if allowed or not stored[1] or start ~= tonumber(stored[1]) or count ~= tonumber(stored[2]) then
  redis.call('HSET', KEYS[1], 'a', fmt(start), 'b', fmt(count), 'e', fmt(period_end))
  redis.call('PEXPIRE', KEYS[1], ttl_ms)
end
return {allowed and 1 or 0, remaining, fmt(period_end), fmt(retry_after)}
"""
)

SHIFT = (
    _PRELUDE
    + """
-- ARGV: field by_s. Moves one time field of a key's state, if the key is still there.
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if stored then
  redis.call('HSET', KEYS[1], ARGV[1], fmt(tonumber(stored) + tonumber(ARGV[2])))
end
return 0
"""
)
