--[[
  Appends reliable frames to users' histories, each with the user's next sequence, once per frame id.
  KEYS[i] user i's meta hash {e epoch, s last sequence, x expiry deadline (ms)} `<tag>:meta`; the user's other keys,
  in the same slot, are named from its tag as keys.ts names them: history stream `<tag>:history`, presence zset
  `<tag>:gw`, frame-id marker `<tag>:f:<id>`
  ARGV[1] epoch prefix to mint from when a user has none (the user's index is appended)
  ARGV[2] history cap (approximate)   ARGV[3] history window (ms)   ARGV[4] marker TTL (s) of frames with an id
  ARGV[5] retention of meta and history after the last append (ms)   ARGV[6] number of frames f
  ARGV[4+3k], ARGV[5+3k], ARGV[6+3k] for frame k: how many users get it (the next ones of KEYS, in order), its JSON
  object without offset, its id ('' for none)
  returns one string, a line per user joined by '\n': '+' when appended now or '=' for a known frame id, then
  `<epoch>:<seq>`, then ' <gateway>' for each gateway the user is on
  A user named several times is read once (epoch, expiry, presence) and gets consecutive sequences in KEYS order.
  Meta and history expire together at `x`, moved to now + 5/4 retention whenever less than the retention is left or
  the history stream is made: they live at least the retention after the last append, and the expiry is written
  about once a quarter of it.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minid = now - tonumber(ARGV[3])
local cap = ARGV[2]
local markerTtl = ARGV[4]
local retention = tonumber(ARGV[5])
local out = {}
local seen = {}
local i = 0
for k = 1, tonumber(ARGV[6]) do
  local body = string.sub(ARGV[5 + 3 * k], 2)
  local id = ARGV[6 + 3 * k]
  for _ = 1, tonumber(ARGV[4 + 3 * k]) do
    i = i + 1
    local meta = KEYS[i]
    local tag = string.sub(meta, 1, -5)
    local history = tag .. 'history'
    local marker = id ~= '' and (tag .. 'f:' .. id)
    local user = seen[meta]
    if not user then
      local m = redis.call('HMGET', meta, 'e', 'x')
      user = { epoch = m[1], deadline = tonumber(m[2]) or 0, live = '' }
      if not user.epoch then
        user.epoch = ARGV[1] .. i
        user.deadline = 0
        redis.call('DEL', history)
        redis.call('HSET', meta, 'e', user.epoch, 's', 0)
      end
      local live = redis.call('ZRANGEBYSCORE', tag .. 'gw', now, '+inf')
      if #live > 0 then user.live = ' ' .. table.concat(live, ' ') end
      seen[meta] = user
    end
    local epoch = user.epoch
    local offset, created = nil, true
    if marker then
      local prior = redis.call('GET', marker)
      if prior then
        local sep = string.find(prior, ':', 1, true)
        if sep and string.sub(prior, 1, sep - 1) == epoch then
          offset = prior
          created = false
        end
      end
    end
    if created then
      local seq = redis.call('HINCRBY', meta, 's', 1)
      offset = epoch .. ':' .. seq
      local text = '{"offset":"' .. offset .. '",' .. body
      -- A history stream made here (new epoch, or the stream was lost) gets its expiry now, with the meta's.
      local fresh = not redis.call('XADD', history, 'NOMKSTREAM', 'MAXLEN', '~', cap, '*', 's', seq, 'f', text)
      if fresh then redis.call('XADD', history, 'MAXLEN', '~', cap, '*', 's', seq, 'f', text) end
      -- The window is also enforced by readers; trimming by age every 16th frame keeps appends cheap.
      if seq % 16 == 0 then redis.call('XTRIM', history, 'MINID', '~', minid) end
      if marker then redis.call('SET', marker, offset, 'EX', markerTtl) end
      if fresh or user.deadline - now < retention then
        user.deadline = now + retention + math.floor(retention / 4)
        redis.call('HSET', meta, 'x', user.deadline)
        redis.call('PEXPIREAT', meta, user.deadline)
        redis.call('PEXPIREAT', history, user.deadline)
      end
    end
    out[i] = (created and '+' or '=') .. offset .. user.live
  end
end
return table.concat(out, '\n')
