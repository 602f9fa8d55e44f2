--[[
  Shared by appendFrames-n.lua and markPresence-n.lua (put in front of each when they are defined): the note of a
  user's live gateways that the meta hash keeps at the end of `w` (in `g` while it has no `w`), read from the user's
  presence zset. The note is `<until ms>[ <gateway>...]`, `until` being the earliest expiry among those gateways and
  at most `now + ttl`.
  Returns the note and its gateway part (' <gateway>...', or '' when the user is on none).
]]
local function gatewaysNote(zset, now, nowS, ttl)
  local z = redis.call('ZRANGEBYSCORE', zset, nowS, '+inf', 'WITHSCORES')
  local untilMs = now + ttl
  local names = {}
  for j = 1, #z, 2 do
    names[#names + 1] = z[j]
    local score = tonumber(z[j + 1])
    if score < untilMs then untilMs = score end
  end
  local live = #names > 0 and (' ' .. table.concat(names, ' ')) or ''
  return string.format('%d', untilMs) .. live, live
end
