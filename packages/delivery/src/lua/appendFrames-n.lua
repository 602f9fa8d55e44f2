--[[
  Appends one reliable frame to each of n users' histories with each user's next sequence, once per frame id.
  KEYS[i] user i's meta hash {e epoch, s last sequence, x expiry deadline (ms)} `<tag>:meta`; the user's other keys,
  in the same slot, are named from its tag as keys.ts names them: history stream `<tag>:history`, presence zset
  `<tag>:gw`, frame-id marker `<tag>:f:<id>`
  ARGV[1] epoch prefix to mint from when a user has none (the user's index is appended)
  ARGV[2] history cap (approximate)   ARGV[3] history window (ms)   ARGV[4] marker TTL (s), 0 for frames without id
  ARGV[5] retention of meta and history after the last append (ms)   ARGV[6] n   ARGV[7] number of frames f
  ARGV[7+i] index (1-based) of user i's frame among the frames   ARGV[8+n..7+n+f] frame JSON objects without offset
  ARGV[8+n+f..7+n+2f] the frames' ids, only when ARGV[4] > 0
  returns one string, a line per user joined by '\n': '+' when appended now or '=' for a known frame id, then
  `<epoch>:<seq>`, then ' <gateway>' for each gateway the user is on
  Meta and history expire together at `x`, moved to now + 5/4 retention whenever less than the retention is left:
  they live at least the retention after the last append, and the expiry is written about once a quarter of it.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minid = now - tonumber(ARGV[3])
local cap = ARGV[2]
local markerTtl = ARGV[4]
local marked = markerTtl ~= '0'
local retention = tonumber(ARGV[5])
local n = tonumber(ARGV[6])
local f = tonumber(ARGV[7])
local bodies = {}
local out = {}
for i = 1, n do
  local meta = KEYS[i]
  local tag = string.sub(meta, 1, -5)
  local history = tag .. 'history'
  local k = tonumber(ARGV[7 + i])
  local marker = marked and (tag .. 'f:' .. ARGV[7 + n + f + k])
  local m = redis.call('HMGET', meta, 'e', 'x')
  local epoch, deadline = m[1], tonumber(m[2]) or 0
  if not epoch then
    epoch = ARGV[1] .. i
    deadline = 0
    redis.call('DEL', history)
    redis.call('HSET', meta, 'e', epoch, 's', 0)
  end
  local live = redis.call('ZRANGEBYSCORE', tag .. 'gw', now, '+inf')
  local seq, created = nil, true
  if marked then
    local prior = redis.call('GET', marker)
    if prior then
      local sep = string.find(prior, ':', 1, true)
      if sep and string.sub(prior, 1, sep - 1) == epoch then
        seq = tonumber(string.sub(prior, sep + 1))
        created = false
      end
    end
  end
  if created then
    seq = redis.call('HINCRBY', meta, 's', 1)
    local body = bodies[k]
    if not body then
      body = string.sub(ARGV[7 + n + k], 2)
      bodies[k] = body
    end
    redis.call('XADD', history, 'MAXLEN', '~', cap, '*', 's', seq, 'f', '{"offset":"' .. epoch .. ':' .. seq .. '",' .. body)
    -- The window is also enforced by readers; trimming by age every 16th frame keeps appends cheap.
    if seq % 16 == 0 then redis.call('XTRIM', history, 'MINID', '~', minid) end
    if marked then redis.call('SET', marker, epoch .. ':' .. seq, 'EX', markerTtl) end
    if deadline - now < retention then
      deadline = now + retention + math.floor(retention / 4)
      redis.call('HSET', meta, 'x', deadline)
      redis.call('PEXPIREAT', meta, deadline)
      redis.call('PEXPIREAT', history, deadline)
    end
  end
  local line = (created and '+' or '=') .. epoch .. ':' .. seq
  if #live > 0 then line = line .. ' ' .. table.concat(live, ' ') end
  out[i] = line
end
return table.concat(out, '\n')
