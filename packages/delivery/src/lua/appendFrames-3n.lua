--[[
  Appends one reliable frame to each of n users' histories with each user's next sequence, once per frame id.
  KEYS[3i-2..3i] for user i: meta hash {e epoch, s last sequence, x expiry deadline (ms)}, history stream, presence
  zset; KEYS[3n+i] user i's frame-id marker, only when ARGV[4] > 0
  ARGV[1] epoch prefix to mint from when a user has none (the user's index is appended)
  ARGV[2] history cap (approximate)   ARGV[3] history window (ms)   ARGV[4] marker TTL (s), 0 for frames without id
  ARGV[5] retention of meta and history after the last append (ms)   ARGV[6] n
  ARGV[6+i] index (1-based) of user i's frame among the frames   ARGV[7+n..] frame JSON objects without offset
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
local bodies = {}
local out = {}
for i = 1, n do
  local meta, history, presence = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local m = redis.call('HMGET', meta, 'e', 'x')
  local epoch, deadline = m[1], tonumber(m[2]) or 0
  if not epoch then
    epoch = ARGV[1] .. i
    deadline = 0
    redis.call('DEL', history)
    redis.call('HSET', meta, 'e', epoch, 's', 0)
  end
  local live = redis.call('ZRANGEBYSCORE', presence, now, '+inf')
  local seq, created = nil, true
  if marked then
    local prior = redis.call('GET', KEYS[3 * n + i])
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
    local k = tonumber(ARGV[6 + i])
    local body = bodies[k]
    if not body then
      body = string.sub(ARGV[6 + n + k], 2)
      bodies[k] = body
    end
    redis.call('XADD', history, 'MAXLEN', '~', cap, '*', 's', seq, 'f', '{"offset":"' .. epoch .. ':' .. seq .. '",' .. body)
    -- The window is also enforced by readers; trimming by age every 16th frame keeps appends cheap.
    if seq % 16 == 0 then redis.call('XTRIM', history, 'MINID', '~', minid) end
    if marked then redis.call('SET', KEYS[3 * n + i], epoch .. ':' .. seq, 'EX', markerTtl) end
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
