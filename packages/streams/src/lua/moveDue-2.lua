--[[
  Moves a group's due retries from its retry set to its retry stream, which only that group reads.
  Atomic, so several consumers may run it at once without duplicating an entry.
  KEYS[1] the group's retry sorted set
  KEYS[2] the group's retry stream
  ARGV[1] now (ms)   ARGV[2] most entries to move
  returns { moved, due time of the next waiting retry or -1 }
]]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local a = string.find(member, '\n', 1, true)
  local b = string.find(member, '\n', a + 1, true)
  redis.call('XADD', KEYS[2], '*', 'o', string.sub(member, 1, a - 1), 'a', string.sub(member, a + 1, b - 1),
    'd', string.sub(member, b + 1))
  redis.call('ZREM', KEYS[1], member)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if nxt[2] then return { #due, tonumber(nxt[2]) } end
return { #due, -1 }
