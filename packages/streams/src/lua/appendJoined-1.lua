--[[
  Appends payloads to one stream, in order, in one script call (atomic: no other command runs in between), the
  payloads sent as one argument joined by newlines (one argument is far cheaper for the client to write than
  hundreds). Nothing is written unless the argument splits into exactly the expected count.
  KEYS[1] stream
  ARGV[1] approximate cap (XADD MAXLEN ~)   ARGV[2] count of payloads   ARGV[3] the payloads joined by "\n",
  each stored as field `d`
  returns the entry ids, in the payloads' order, joined by spaces (one reply string for the client to read); an
  error `COUNT` (nothing written) when a payload held a newline
]]
local stream, cap, count, joined = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3]
local parts = {}
local from = 1
while true do
  local at = string.find(joined, '\n', from, true)
  if not at then break end
  parts[#parts + 1] = string.sub(joined, from, at - 1)
  from = at + 1
end
parts[#parts + 1] = string.sub(joined, from)
if #parts ~= count then return redis.error_reply('COUNT payloads split into ' .. #parts .. ', not ' .. count) end
local ids = {}
for i = 1, count do
  ids[i] = redis.call('XADD', stream, 'MAXLEN', '~', cap, '*', 'd', parts[i])
end
return table.concat(ids, ' ')
