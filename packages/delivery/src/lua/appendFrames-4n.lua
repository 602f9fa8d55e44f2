--[[
  Appends one reliable frame to each of n users' histories with each user's next sequence, once per frame id.
  KEYS[4i-3..4i] for user i: meta hash {e, s}, history stream, frame-id marker, presence zset
  ARGV[1] epoch prefix to mint from when a user has none (the user's index is appended)
  ARGV[2] history cap (approximate)   ARGV[3] history window (ms)   ARGV[4] marker TTL (s), 0 for frames without id
  ARGV[5] retention of meta and history after the last append (ms)   ARGV[6] n
  ARGV[6+i] index (1-based) of user i's frame among the frames   ARGV[7+n..] frame JSON objects without offset
  returns, per user: epoch, seq, 1 when appended now or 0 for a known frame id, number of gateways g, g gateway ids
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minid = now - tonumber(ARGV[3])
local n = tonumber(ARGV[6])
local marked = ARGV[4] ~= '0'
local out = {}
for i = 1, n do
  local meta, history, marker, presence = KEYS[4 * i - 3], KEYS[4 * i - 2], KEYS[4 * i - 1], KEYS[4 * i]
  local epoch = redis.call('HGET', meta, 'e')
  if not epoch then
    epoch = ARGV[1] .. i
    redis.call('DEL', history)
    redis.call('HSET', meta, 'e', epoch, 's', 0)
  end
  local live = redis.call('ZRANGEBYSCORE', presence, now, '+inf')
  local prior = marked and redis.call('GET', marker)
  local seq, created = nil, 1
  if prior then
    local sep = string.find(prior, ':', 1, true)
    if sep and string.sub(prior, 1, sep - 1) == epoch then
      seq = tonumber(string.sub(prior, sep + 1))
      created = 0
    end
  end
  if created == 1 then
    seq = redis.call('HINCRBY', meta, 's', 1)
    local frame = ARGV[6 + n + tonumber(ARGV[6 + i])]
    local text = '{"offset":"' .. epoch .. ':' .. seq .. '",' .. string.sub(frame, 2)
    redis.call('XADD', history, 'MAXLEN', '~', ARGV[2], '*', 's', seq, 'f', text)
    -- The window is also enforced by readers; trimming by age every 16th frame keeps appends cheap.
    if seq % 16 == 0 then redis.call('XTRIM', history, 'MINID', '~', minid) end
    if marked then redis.call('SET', marker, epoch .. ':' .. seq, 'EX', ARGV[4]) end
    redis.call('PEXPIRE', meta, ARGV[5])
    redis.call('PEXPIRE', history, ARGV[5])
  end
  out[#out + 1] = epoch
  out[#out + 1] = seq
  out[#out + 1] = created
  out[#out + 1] = #live
  for j = 1, #live do out[#out + 1] = live[j] end
end
return out
