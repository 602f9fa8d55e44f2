--[[
  Reads a user's reliable frames after a sequence, within the history window.
  KEYS[1] meta hash {e, s}   KEYS[2] history stream (entries {s <first seq>, b <frame>, b <frame>...}, one frame
  per `b` (its JSON object without the opening brace and without offset) or per `f` (the whole frame text, as
  older appends wrote it), sequences consecutive from `s`)
  ARGV[1] last sequence the reader has   ARGV[2] history window (ms)   ARGV[3] most frames to return
  returns { epoch ('' when the user has none), head sequence, seq1, text1, seq2, text2, ... } oldest first, every
  frame after ARGV[1] still kept; fewer frames than head - ARGV[1] means the history no longer covers the range
]]
local meta = redis.call('HMGET', KEYS[1], 'e', 's')
if not meta[1] then return { '', 0 } end
local head = tonumber(meta[2])
local since = tonumber(ARGV[1])
local n = head - since
local out = { meta[1], head }
if n <= 0 then return out end
if n > tonumber(ARGV[3]) then n = tonumber(ARGV[3]) + 1 end
local t = redis.call('TIME')
local minid = (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[2])) .. '-0'
-- An entry holds at least one frame, so n entries reach back far enough.
local rows = redis.call('XREVRANGE', KEYS[2], '+', minid, 'COUNT', n)
for i = #rows, 1, -1 do
  local f = rows[i][2]
  local seq
  for j = 1, #f, 2 do
    if f[j] == 's' then
      seq = tonumber(f[j + 1])
    else
      if seq > since and #out < 2 + 2 * n then
        out[#out + 1] = seq
        if f[j] == 'b' then
          out[#out + 1] = '{"offset":"' .. meta[1] .. ':' .. string.format('%d', seq) .. '",' .. f[j + 1]
        else
          out[#out + 1] = f[j + 1]
        end
      end
      seq = seq + 1
    end
  end
end
return out
