--[[
  The live gateways of n users.
  KEYS[i] user i's presence zset `<tag>:gw` (gateway ids scored by the time, ms, their registration expires)
  returns one string, a line per user joined by '\n': the user's live gateway ids separated by ' ' (empty: none)
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, #KEYS do
  out[i] = table.concat(redis.call('ZRANGEBYSCORE', KEYS[i], now, '+inf'), ' ')
end
return table.concat(out, '\n')
