--[[
  Appends payloads to one stream, in order, in one script call (atomic: no other command runs in between).
  KEYS[1] stream
  ARGV[1] approximate cap (XADD MAXLEN ~)   ARGV[2..] payloads, each stored as field `d`
  returns the entry ids, in the payloads' order
]]
local stream, cap = KEYS[1], ARGV[1]
local ids = {}
for i = 2, #ARGV do
  ids[i - 1] = redis.call('XADD', stream, 'MAXLEN', '~', cap, '*', 'd', ARGV[i])
end
return ids
