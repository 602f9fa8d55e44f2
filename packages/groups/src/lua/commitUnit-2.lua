--[[
  Records that a fan-out unit reached every member: moves the group's cursor to the unit's last seq and counts it,
  only while the caller still holds the group's fan-out lock.
  KEYS[1] cursor hash {done, unit, messages, bursts, frames}   KEYS[2] lock
  ARGV[1] owner token   ARGV[2] unit's last seq   ARGV[3] messages in the unit   ARGV[4] lock TTL (ms)
  returns 1 committed, 0 the lock is not the caller's (nothing changed)
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
local hi = tonumber(ARGV[2])
if hi > done then
  redis.call('HSET', KEYS[1], 'done', hi)
end
redis.call('HDEL', KEYS[1], 'unit')
local n = tonumber(ARGV[3])
redis.call('HINCRBY', KEYS[1], 'messages', n)
redis.call('HINCRBY', KEYS[1], 'frames', 1)
if n > 1 then
  redis.call('HINCRBY', KEYS[1], 'bursts', 1)
end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
