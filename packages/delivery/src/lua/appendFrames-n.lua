--[[
  Appends reliable frames to users' histories, each with the user's next sequence, once per frame id.
  KEYS[i] user i's meta hash {e epoch, s last sequence, x expiry deadline (ms), g live gateways (as
  markPresence-n.lua writes it: `<until> <gateway>...`, valid until `until` ms)} `<tag>:meta`; the user's other keys,
  in the same slot, are named from its tag as keys.ts names them: history stream `<tag>:history`, presence zset
  `<tag>:gw` (read only when `g` is missing or past its `until`; `g` is then written back with the sequence),
  frame-id marker `<tag>:f:<id>`
  ARGV[1] epoch prefix to mint from when a user has none (the user's index is appended)
  ARGV[2] history cap (approximate, in entries)   ARGV[3] history window (ms)   ARGV[4] marker TTL (s) of frames
  with an id   ARGV[5] retention of meta and history after the last append (ms)
  ARGV[6] how long a set of live gateways read from the zset with none in it stays valid in `g` (ms; the presence TTL)
  ARGV[7] number of frames f   ARGV[6+2k], ARGV[7+2k] for frame k (1..f): its JSON object without the opening brace
  and without offset, its id ('' for none)
  then groups of users, to the end of ARGV: how many users (the next ones of KEYS, in order), how many frames m each
  of them gets, then m frame numbers k (in the order the user gets them)
  returns one string of lines joined by '\n': first a line per user of KEYS, in order,
  `<epoch>:<seq> <until>[ <gateway>...]` (the user's sequence before this call, then the live gateways' note:
  the gateway ids after `until`); then a line `=<i> <k> <epoch>:<seq>` for each user i and frame k whose frame id
  was already appended to that user (its earlier offset). Every other frame of a user got the user's next
  sequence, in the order of its group's frame numbers.
  A user is named once: it is read once (epoch, sequence, expiry, presence) and its frames of one call go to its
  history as one entry {s <first seq>, b <frame>, b <frame>...} (at most 64 frames each; readers splice
  `{"offset":"<epoch>:<seq>",` in front of a frame), and its sequence is written once. (A user named twice is
  read and written twice, the second time after the first: still consecutive sequences.) Meta and history expire
  together at `x`, moved to now + 5/4 retention whenever less than the retention is left or the history stream is
  made: they live at least the retention after the last append, and the expiry is written about once a quarter of it.
]]
-- Numbers become strings with '%d' here: Lua's own conversion (and redis.call's, of a number argument) formats
-- a double, several times slower.
local call, fmt, sub, byte, tonumber, unpack = redis.call, string.format, string.sub, string.byte, tonumber, unpack
local keys, argv = KEYS, ARGV
local t = call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowS = fmt('%d', now)
local nowLen = #nowS
local minid = fmt('%d', now - tonumber(argv[3]))
local cap = argv[2]
local markerTtl = argv[4]
local retention = tonumber(argv[5])
local gTtl = tonumber(argv[6])
-- A deadline (as text: these have as many digits as now) before this one is moved ahead.
local renewBefore = fmt('%d', now + retention)
local renewLen = #renewBefore
local deadline
-- The reply's lines: the users' first, then those of frames already appended.
local out, o = {}, 0
local known, kn = {}, 0

-- Writes `n` frames (`list` holds 'b', frame pairs from index 1) whose last sequence is `seq` as one history entry;
-- returns the entry's first sequence as text, and true when the stream was made here (it then needs its expiry).
local function append(history, list, n, seq)
  local firstS = fmt('%d', seq - n + 1)
  local made = not call('XADD', history, 'NOMKSTREAM', 'MAXLEN', '~', cap, '*', 's', firstS, unpack(list, 1, 2 * n))
  if made then
    call('XADD', history, 'MAXLEN', '~', cap, '*', 's', firstS, unpack(list, 1, 2 * n))
  end
  -- The window is also enforced by readers; trimming by age about every 16th frame (when a multiple of 16 is among
  -- the entry's sequences) keeps appends cheap.
  if seq % 16 < n then
    call('XTRIM', history, 'MINID', '~', minid)
  end
  return firstS, made
end

local i = 0
local a = 8 + 2 * tonumber(argv[7])
local last = #argv
while a <= last do
  local count, m = tonumber(argv[a]), tonumber(argv[a + 1])
  -- The group's frames: their numbers, and 'b', frame pairs as an entry holds them.
  local ks, list = {}, {}
  local ids = false
  for j = 1, m do
    local k = tonumber(argv[a + 1 + j])
    ks[j] = k
    list[2 * j - 1] = 'b'
    list[2 * j] = argv[6 + 2 * k]
    if argv[7 + 2 * k] ~= '' then ids = true end
  end
  a = a + 2 + m
  local body = list[2]
  for _ = 1, count do
    i = i + 1
    local meta = keys[i]
    local r = call('HMGET', meta, 'e', 's', 'x', 'g')
    local epoch, prevS, x, g = r[1], r[2], r[3], r[4]
    local tag, renew, new, note
    if epoch then
      prevS = prevS or '0'
      renew = not x or #x < renewLen or (#x == renewLen and x < renewBefore)
    else
      epoch = argv[1] .. fmt('%d', i)
      prevS = '0'
      renew = true
      new = true
      tag = sub(meta, 1, -5)
      call('DEL', tag .. 'history')
    end
    -- The live gateways from the meta's `g` while its `until` (as many digits as now: compared as text) has not
    -- passed; else from the presence zset, noted in `g` again when the meta is written.
    if not g or g < nowS or (#g ~= nowLen and byte(g, nowLen + 1) ~= 32) then
      tag = tag or sub(meta, 1, -5)
      note = gatewaysNote(tag .. 'gw', now, nowS, gTtl)
      g = note
    end
    o = o + 1
    out[o] = epoch .. ':' .. prevS .. ' ' .. g
    local history = (tag or sub(meta, 1, -5)) .. 'history'
    local prev = tonumber(prevS)
    local seq, seqS = prev, nil
    if not ids and m == 1 then
      -- The common case: one frame, no id.
      seq = prev + 1
      seqS = fmt('%d', seq)
      if not call('XADD', history, 'NOMKSTREAM', 'MAXLEN', '~', cap, '*', 's', seqS, 'b', body) then
        call('XADD', history, 'MAXLEN', '~', cap, '*', 's', seqS, 'b', body)
        renew = true
      end
      if seq % 16 == 0 then
        call('XTRIM', history, 'MINID', '~', minid)
      end
    elseif not ids and m <= 64 then
      seq = prev + m
      local _, made = append(history, list, m, seq)
      if made then renew = true end
    else
      -- Frames with an id already appended (in this epoch) are skipped: their earlier offset is answered.
      local mine, n = {}, 0
      for j = 1, m do
        local k = ks[j]
        local id = argv[7 + 2 * k]
        local marker
        if id ~= '' then
          tag = tag or sub(meta, 1, -5)
          marker = tag .. 'f:' .. id
          local prior = call('GET', marker)
          if prior then
            local sep = string.find(prior, ':', 1, true)
            if sep and sub(prior, 1, sep - 1) == epoch then
              known[kn + 1] = '=' .. fmt('%d', i) .. ' ' .. fmt('%d', k) .. ' ' .. prior
              kn = kn + 1
              marker = false
            end
          end
        end
        if marker ~= false then
          seq = seq + 1
          n = n + 1
          mine[2 * n - 1] = 'b'
          mine[2 * n] = list[2 * j]
          if n == 64 then
            local _, made = append(history, mine, n, seq)
            if made then renew = true end
            n = 0
          end
          if marker then call('SET', marker, epoch .. ':' .. fmt('%d', seq), 'EX', markerTtl) end
        end
      end
      if n > 0 then
        local firstS, made = append(history, mine, n, seq)
        if made then renew = true end
        if n == 1 then seqS = firstS end
      end
    end
    if seq ~= prev then
      seqS = seqS or fmt('%d', seq)
      if renew then
        deadline = deadline or fmt('%d', now + retention + math.floor(retention / 4))
        if new and note then
          call('HSET', meta, 'e', epoch, 's', seqS, 'x', deadline, 'g', note)
        elseif new then
          call('HSET', meta, 'e', epoch, 's', seqS, 'x', deadline)
        elseif note then
          call('HSET', meta, 's', seqS, 'x', deadline, 'g', note)
        else
          call('HSET', meta, 's', seqS, 'x', deadline)
        end
        call('PEXPIREAT', meta, deadline)
        call('PEXPIREAT', history, deadline)
      elseif note then
        call('HSET', meta, 's', seqS, 'g', note)
      else
        call('HSET', meta, 's', seqS)
      end
    end
  end
end
for j = 1, kn do
  out[o + j] = known[j]
end
return table.concat(out, '\n')
