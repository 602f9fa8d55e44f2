--[[
  Registers (or removes) one gateway for n users, and notes each user's live gateways in the user's meta hash,
  where the append script reads them with the user's sequence.
  KEYS[2i-1] user i's presence zset `<tag>:gw` (gateway ids scored by the time, ms, their registration expires)
  KEYS[2i] user i's meta hash `<tag>:meta`; field `g` = `<until> <gateway> <gateway>...`: the live gateways, valid
  until `until` (ms, the earliest expiry among them, or now + ARGV[3] when there are none)
  ARGV[1] gateway id   ARGV[2] registration expiry (ms), or '' to remove the gateway   ARGV[3] registration TTL (ms)
  returns the number of users
  A zset lives twice the TTL after its last registration, and so at least does its meta (whose expiry is only moved
  ahead, never back: it also holds the user's sequence).
]]
local fmt = string.format
local gateway = ARGV[1]
local expires = ARGV[2]
local ttl = tonumber(ARGV[3])
local ttl2 = fmt('%d', 2 * ttl)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowS = fmt('%d', now)
for i = 1, #KEYS, 2 do
  local zset, meta = KEYS[i], KEYS[i + 1]
  if expires == '' then
    redis.call('ZREM', zset, gateway)
  else
    redis.call('ZADD', zset, expires, gateway)
    redis.call('PEXPIRE', zset, ttl2)
  end
  local live = redis.call('ZRANGEBYSCORE', zset, nowS, '+inf', 'WITHSCORES')
  local untilMs = now + ttl
  local g = {}
  for j = 1, #live, 2 do
    g[#g + 1] = live[j]
    local score = tonumber(live[j + 1])
    if score < untilMs then untilMs = score end
  end
  local value = fmt('%d', untilMs)
  if #g > 0 then value = value .. ' ' .. table.concat(g, ' ') end
  redis.call('HSET', meta, 'g', value)
  -- A meta without expiry gets one only when presence made it (no epoch): a user's kept sequence is left alone.
  local pttl = redis.call('PTTL', meta)
  if (pttl >= 0 and pttl < 2 * ttl) or (pttl == -1 and redis.call('HEXISTS', meta, 'e') == 0) then
    redis.call('PEXPIRE', meta, ttl2)
  end
end
return #KEYS / 2
