-- One acquire of a shared pacer: GCRA over every scope at once, on the server's clock.
--
-- KEYS, three per scope:  tat (theoretical arrival time, microseconds),
--                         pause (paused until, microseconds; its PTTL bounds the wait),
--                         rate (a learned rate, requests a second; lowers the ceiling).
-- ARGV[1]  now in microseconds, or '' for the server's TIME (tests pass a clock)
-- ARGV[2]  how far ahead a slot may be reserved, microseconds
-- ARGV[2 + 2i - 1], ARGV[2 + 2i]  scope i's ceiling (requests a second) and burst
--
-- Returns {1, wait}: a slot is reserved in every scope, go after `wait` microseconds;
--      or {0, wait}: nothing reserved (paused, or the next slot is too far), ask again after
--      `wait` microseconds.
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local max_reserve = tonumber(ARGV[2])
local n = #KEYS / 3
local go = now
local pause_wait = 0
local intervals, tats = {}, {}
for i = 1, n do
  local tat_key, pause_key, rate_key = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local ceiling = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local paused_until = tonumber(redis.call('GET', pause_key) or '') or 0
  if paused_until > now then
    local left = paused_until - now
    -- A clock that jumped back cannot stretch a pause: it ends with its key.
    local pttl = redis.call('PTTL', pause_key)
    if pttl >= 0 and pttl * 1000 < left then left = pttl * 1000 end
    if left > pause_wait then pause_wait = left end
  end
  local rate = ceiling
  local learned = tonumber(redis.call('GET', rate_key) or '')
  if learned and learned > 0 and learned < rate then rate = learned end
  local interval = 1000000 / rate
  local tau = (burst - 1) * interval
  local tat = tonumber(redis.call('GET', tat_key) or '') or now
  -- Never further ahead than a reservation can put it: a clock that jumped back (or a key
  -- written by a faster ceiling) costs at most one reservation, never a stall.
  local furthest = now + max_reserve + interval + tau
  if tat > furthest then tat = furthest end
  if tat < now then tat = now end
  intervals[i] = interval
  tats[i] = tat
  if tat - tau > go then go = tat - tau end
end
if pause_wait > 0 then
  return {0, math.ceil(pause_wait)}
end
if go - now > max_reserve then
  return {0, math.ceil(go - now - max_reserve)}
end
for i = 1, n do
  local tat = tats[i]
  if go > tat then tat = go end
  tat = tat + intervals[i]
  redis.call('SET', KEYS[3 * i - 2], string.format('%.0f', tat),
    'PX', math.ceil((tat - now) / 1000) + 1000)
end
return {1, math.floor(go - now)}
