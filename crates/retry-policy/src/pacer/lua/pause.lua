-- Pauses a shared pacer: every process waits until now + ARGV[1] milliseconds. Extends a pause
-- in force, never shortens it. The key expires with the pause, so a clock that jumps back
-- cannot stretch it.
--
-- KEYS[1]  the pause key
-- ARGV[1]  the pause, milliseconds (>= 1)
-- ARGV[2]  now in microseconds, or '' for the server's TIME (tests pass a clock)
-- Returns 1 when the pause was set or extended, 0 when a longer one was in force.
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local ms = tonumber(ARGV[1])
local paused_until = now + ms * 1000
local current = tonumber(redis.call('GET', KEYS[1]) or '') or 0
local pttl = redis.call('PTTL', KEYS[1])
if current >= paused_until and pttl >= ms then
  return 0
end
redis.call('SET', KEYS[1], string.format('%.0f', paused_until), 'PX', math.ceil(ms))
return 1
