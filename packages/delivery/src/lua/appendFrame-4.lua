--[[
  Appends one reliable frame to a user's history with the user's next sequence, once per frame id.
  KEYS[1] meta hash {e, s}   KEYS[2] history stream   KEYS[3] frame-id marker   KEYS[4] presence zset
  ARGV[1] frame JSON object without offset   ARGV[2] epoch to mint when the user has none
  ARGV[3] history cap (approximate)   ARGV[4] history window (ms)   ARGV[5] marker TTL (s), 0 for a frame without id
  ARGV[6] retention of meta and history after the last append (ms)
  returns { epoch, seq, 1 when appended now or 0 for a known frame id, frame text with its offset ('' when known),
            gateway ids the user is on... }
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[2]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 's', 0)
end
local gateways = {}
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local live = redis.call('ZRANGE', KEYS[4], 0, -1)
local marked = ARGV[5] ~= '0'
local prior = marked and redis.call('GET', KEYS[3])
if prior then
  local sep = string.find(prior, ':', 1, true)
  if sep and string.sub(prior, 1, sep - 1) == epoch then
    local out = { epoch, tonumber(string.sub(prior, sep + 1)), 0, '' }
    for i = 1, #live do out[#out + 1] = live[i] end
    return out
  end
end
local seq = redis.call('HINCRBY', KEYS[1], 's', 1)
local text = '{"offset":"' .. epoch .. ':' .. seq .. '",' .. string.sub(ARGV[1], 2)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 's', seq, 'f', text)
redis.call('XTRIM', KEYS[2], 'MINID', '~', now - tonumber(ARGV[4]))
if marked then redis.call('SET', KEYS[3], epoch .. ':' .. seq, 'EX', ARGV[5]) end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
local out = { epoch, seq, 1, text }
for i = 1, #live do out[#out + 1] = live[i] end
return out
