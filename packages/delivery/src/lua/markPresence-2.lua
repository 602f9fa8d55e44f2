--[[
  Registers (or removes) one gateway of one user, and writes the user's live gateways into the user's meta hash,
  where the append script reads them with the user's sequence.
  KEYS[1] presence zset `<tag>:gw` (gateway ids scored by the time, ms, their registration expires)
  KEYS[2] meta hash `<tag>:meta`; field `g` = `<until> <gateway> <gateway>...`: the live gateways, valid until
  `until` (ms, the earliest expiry among them, or now + ARGV[3] when there are none)
  ARGV[1] gateway id   ARGV[2] registration expiry (ms), or '' to remove the gateway   ARGV[3] registration TTL (ms)
  returns the number of live gateways
  The zset lives twice the TTL after its last registration, and so at least does the meta (its expiry is only moved
  ahead, never back: it also holds the user's sequence).
]]
local ttl = tonumber(ARGV[3])
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], string.format('%d', 2 * ttl))
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = redis.call('ZRANGEBYSCORE', KEYS[1], string.format('%d', now), '+inf', 'WITHSCORES')
local untilMs = now + ttl
local g = {}
for i = 1, #live, 2 do
  g[#g + 1] = live[i]
  local score = tonumber(live[i + 1])
  if score < untilMs then untilMs = score end
end
local value = string.format('%d', untilMs)
if #g > 0 then value = value .. ' ' .. table.concat(g, ' ') end
redis.call('HSET', KEYS[2], 'g', value)
-- A meta without expiry gets one only when presence made it (no epoch): a user's kept sequence is left alone.
local pttl = redis.call('PTTL', KEYS[2])
if (pttl >= 0 and pttl < 2 * ttl) or (pttl == -1 and redis.call('HEXISTS', KEYS[2], 'e') == 0) then
  redis.call('PEXPIRE', KEYS[2], string.format('%d', 2 * ttl))
end
return #g
