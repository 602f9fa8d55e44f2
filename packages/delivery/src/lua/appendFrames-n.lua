--[[
  Appends reliable frames to users' histories, each with the user's next sequence, once per frame id.
  KEYS[i] user i's meta hash {e epoch, s last sequence, x expiry deadline (ms), g live gateways (as
  markPresence-n.lua writes it: `<until> <gateway>...`, valid until `until` ms)} `<tag>:meta`; the user's other keys,
  in the same slot, are named from its tag as keys.ts names them: history stream `<tag>:history`, presence zset
  `<tag>:gw` (read only when `g` is missing or past its `until`; `g` is then written back with the sequence),
  frame-id marker `<tag>:f:<id>`
  ARGV[1] epoch prefix to mint from when a user has none (the user's index is appended)
  ARGV[2] history cap (approximate, in entries)   ARGV[3] history window (ms)   ARGV[4] marker TTL (s) of frames
  with an id   ARGV[5] retention of meta and history after the last append (ms)   ARGV[6] number of frames f
  ARGV[7] how long a set of live gateways read from the zset with none in it stays valid in `g` (ms; the presence TTL)
  ARGV[5+3k], ARGV[6+3k], ARGV[7+3k] for frame k: how many users get it (the next ones of KEYS, in order), its JSON
  object without offset, its id ('' for none)
  returns one string of lines joined by '\n': first a line per distinct user of KEYS, in the order of first
  appearance, `<epoch>:<seq>` (the user's sequence before this call) then ' <gateway>' for each gateway the user is
  on; then a line `=<i> <epoch>:<seq>` for each KEYS index i whose frame id was already appended (its earlier
  offset). Every other KEYS index got the user's next sequence, in KEYS order.
  A user named several times is read once (epoch, sequence, expiry, presence) and gets consecutive sequences in KEYS
  order. A user's frames of one call go to its history as one entry {s <first seq>, b <frame>, b <frame>...} (at
  most 64 frames each; a frame is its JSON object without the opening brace and without offset: readers splice
  `{"offset":"<epoch>:<seq>",` in front), and its sequence is written once. Meta and history expire together at
  `x`, moved to now + 5/4 retention whenever less than the retention is left or the history stream is made: they
  live at least the retention after the last append, and the expiry is written about once a quarter of it.
]]
-- Numbers become strings with '%d' here: Lua's own conversion (and redis.call's, of a number argument) formats
-- a double, several times slower.
local fmt = string.format
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowS = fmt('%d', now)
local minid = fmt('%d', now - tonumber(ARGV[3]))
local cap = ARGV[2]
local markerTtl = ARGV[4]
local retention = tonumber(ARGV[5])
local gTtl = tonumber(ARGV[7])
-- A deadline (as text: these have as many digits as now) before this one is moved ahead.
local renewBefore = fmt('%d', now + retention)
local out = {}
local known = {}
local seen = {}

-- Writes the user's waiting frames (`b`, frame pairs in the user's array part) as one history entry; returns the
-- entry's first sequence as text.
local function append(user)
  local n = user.n
  if n == 0 then return end
  local seq = user.seq
  local firstS = fmt('%d', seq - n + 1)
  local history = user.tag .. 'history'
  local fresh = not redis.call('XADD', history, 'NOMKSTREAM', 'MAXLEN', '~', cap, '*', 's', firstS, unpack(user, 1, 2 * n))
  -- A history stream made here (new epoch, or the stream was lost) gets its expiry at once, with the meta's.
  if fresh then
    redis.call('XADD', history, 'MAXLEN', '~', cap, '*', 's', firstS, unpack(user, 1, 2 * n))
    user.renew = true
  end
  -- The window is also enforced by readers; trimming by age about every 16th frame (when a multiple of 16 is among
  -- the entry's sequences) keeps appends cheap.
  if seq % 16 < n then
    redis.call('XTRIM', history, 'MINID', '~', minid)
  end
  user.n = 0
  return firstS
end

local i = 0
for k = 1, tonumber(ARGV[6]) do
  local body = string.sub(ARGV[6 + 3 * k], 2)
  local id = ARGV[7 + 3 * k]
  for _ = 1, tonumber(ARGV[5 + 3 * k]) do
    i = i + 1
    local meta = KEYS[i]
    local user = seen[meta]
    if not user then
      local tag = string.sub(meta, 1, -5)
      local m = redis.call('HMGET', meta, 'e', 's', 'x', 'g')
      -- The array part holds the user's waiting frames as 'b', frame pairs.
      local x = m[3]
      user = { 'b', '', meta = meta, tag = tag, epoch = m[1], seq = tonumber(m[2]) or 0, start = 0, n = 0,
        renew = not x or #x < #renewBefore or (#x == #renewBefore and x < renewBefore) }
      local seqS = m[2] or '0'
      if not user.epoch then
        user.epoch = ARGV[1] .. fmt('%d', i)
        user.seq = 0
        seqS = '0'
        user.renew = true
        user.new = true
        redis.call('DEL', tag .. 'history')
      end
      user.start = user.seq
      -- The live gateways from the meta's `g` while its `until` (as many digits as now: compared as text) has not
      -- passed; else from the presence zset, noted in `g` again when the meta is written.
      local g = m[4]
      local live
      if g and g >= nowS and (#g == #nowS or string.byte(g, #nowS + 1) == 32) then
        live = string.sub(g, #nowS + 1)
      else
        user.g, live = gatewaysNote(tag .. 'gw', now, nowS, gTtl)
      end
      out[#out + 1] = user.epoch .. ':' .. seqS .. live
      seen[meta] = user
      seen[#seen + 1] = user
    end
    local created = true
    local marker = id ~= '' and (user.tag .. 'f:' .. id)
    if marker then
      local prior = redis.call('GET', marker)
      if prior then
        local sep = string.find(prior, ':', 1, true)
        if sep and string.sub(prior, 1, sep - 1) == user.epoch then
          known[#known + 1] = '=' .. fmt('%d', i) .. ' ' .. prior
          created = false
        end
      end
    end
    if created then
      local seq = user.seq + 1
      user.seq = seq
      local n = user.n + 1
      user.n = n
      user[2 * n - 1] = 'b'
      user[2 * n] = body
      if n == 64 then append(user) end
      if marker then redis.call('SET', marker, user.epoch .. ':' .. fmt('%d', seq), 'EX', markerTtl) end
    end
  end
end

for _, user in ipairs(seen) do
  if user.seq ~= user.start then
    local last = user.n
    local firstS = append(user)
    local seqS = last == 1 and firstS or fmt('%d', user.seq)
    if user.renew then
      local deadline = fmt('%d', now + retention + math.floor(retention / 4))
      if user.new and user.g then
        redis.call('HSET', user.meta, 'e', user.epoch, 's', seqS, 'x', deadline, 'g', user.g)
      elseif user.new then
        redis.call('HSET', user.meta, 'e', user.epoch, 's', seqS, 'x', deadline)
      elseif user.g then
        redis.call('HSET', user.meta, 's', seqS, 'x', deadline, 'g', user.g)
      else
        redis.call('HSET', user.meta, 's', seqS, 'x', deadline)
      end
      redis.call('PEXPIREAT', user.meta, deadline)
      redis.call('PEXPIREAT', user.tag .. 'history', deadline)
    elseif user.g then
      redis.call('HSET', user.meta, 's', seqS, 'g', user.g)
    else
      redis.call('HSET', user.meta, 's', seqS)
    end
  end
end
for j = 1, #known do out[#out + 1] = known[j] end
return table.concat(out, '\n')
