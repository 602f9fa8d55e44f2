--[[
  Hands one dead letter back to the group that buried it, through that group's retry stream, with its attempts
  reset; removes it from the dead-letter stream. Idempotent: a second call finds nothing.
  KEYS[1] dead-letter stream
  KEYS[2] retry stream of the entry's group
  ARGV[1] dead-letter entry id
  returns 1 when replayed, 0 when the entry is gone
]]
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return 0 end
local f = e[1][2]
local d, o
for i = 1, #f, 2 do
  if f[i] == 'd' then d = f[i + 1] elseif f[i] == 'o' then o = f[i + 1] end
end
redis.call('XADD', KEYS[2], '*', 'o', o, 'a', '0', 'd', d)
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
