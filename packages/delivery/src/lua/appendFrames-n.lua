--[[
  Appends reliable frames to users' histories, each with the user's next sequence, once per frame id.
  KEYS[i] user i's meta hash {e epoch, s last sequence, w `<expiry deadline (ms)> <epoch> <until>[ <gateway>...]`
  (the one field this script reads: the expiry deadline with the epoch, then the note of the user's live gateways,
  valid until `until` ms, which markPresence-n.lua rewrites when they change)} `<tag>:meta`. A meta without `w` (the
  user has no sequence yet, or the meta was written before `w` was: epoch in `e`, deadline in `v` `<deadline>
  <epoch>` or before that in `x`, live gateways in `g` `<until>[ <gateway>...]`) is read once through `e` and `g`
  and given `w`; `g` is then deleted, and an existing meta's `v` is rewritten with the new deadline (producers of
  the previous version, still running during an upgrade, read `v` and `g`). The user's other keys, in the same slot,
  are named from its tag as keys.ts names them: history stream `<tag>:history`, presence zset `<tag>:gw` (read only
  when the note is missing, as in a `w` of `<deadline> <epoch>` alone, or past its `until`; the note is then written
  back into `w`), frame-id marker `<tag>:f:<id>`
  ARGV[1] epoch prefix to mint from when a user has none (the user's index is appended)
  ARGV[2] history cap (approximate, in entries: kept by a trim about every 16th frame)   ARGV[3] history window (ms)
  ARGV[4] marker TTL (s) of frames with an id   ARGV[5] retention of meta and history after the last append (ms)
  ARGV[6] how long a set of live gateways read from the zset with none in it stays valid in the note (ms; the
  presence TTL)
  ARGV[7] number of frames f   ARGV[6+2k], ARGV[7+2k] for frame k (1..f): its JSON object without the opening brace
  and without offset, its id ('' for none)
  then groups of users, to the end of ARGV: how many users (the next ones of KEYS, in order), how many frames m each
  of them gets, then m frame numbers k (in the order the user gets them)
  returns one string of lines joined by '\n': first a line per user of KEYS, in order,
  `<seq> <deadline> <epoch> <until>[ <gateway>...]` (the first sequence this call handed the user, or with none one
  more than its last; then `w` as it is now, its note read again when it had lapsed; for a meta that had no `w`,
  `0 <epoch>` and the note: the live gateways are the ids after `until`); then a line `=<i> <k> <epoch>:<seq>` for each user i and frame k whose frame id was
  already appended to that user (its earlier offset). Every other frame of a user got the user's next sequence from
  that first one, in the order of its group's frame numbers.
  A user is named once: it is read once (`w`), its sequence is moved by the number of its frames in one HINCRBY (the
  new user's written with its epoch), and its frames of one call go to its history as one entry
  {s <first seq>, b <frame>, b <frame>...} (at most 64 frames each; readers splice `{"offset":"<epoch>:<seq>",` in
  front of a frame). (A user named twice is read and written twice, the second time after the first: still
  consecutive sequences.) Meta and history expire together at `w`'s deadline, moved to now + 5/4 retention whenever
  less than the retention is left or the history stream is made: they live at least the retention after the last
  append, and the expiry is written about once a quarter of it.
]]
-- Numbers become strings with '%d' here: Lua's own conversion (and redis.call's, of a number argument) formats
-- a double, several times slower.
local call, fmt, sub, find, byte, tonumber, unpack =
  redis.call, string.format, string.sub, string.find, string.byte, tonumber, unpack
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

-- Writes `n` frames of `list` (which holds 'b', frame pairs) after its first `from` as one history entry whose last
-- sequence is `seq` (the first's as text: `firstS`, or nil); true when the stream was made here (it then needs its expiry). The history is trimmed about
-- every 16th frame (when a multiple of 16 is among the entry's sequences), to its cap and by age (the window is also
-- enforced by readers), which keeps the other appends cheap: the cap is exceeded by 16 entries at most.
local function append(history, list, from, n, seq, firstS)
  firstS = firstS or fmt('%d', seq - n + 1)
  local trim = seq % 16 < n
  local made
  if trim then
    made = not call('XADD', history, 'NOMKSTREAM', 'MAXLEN', '~', cap, '*', 's', firstS,
      unpack(list, 2 * from + 1, 2 * (from + n)))
  else
    made = not call('XADD', history, 'NOMKSTREAM', '*', 's', firstS, unpack(list, 2 * from + 1, 2 * (from + n)))
  end
  if made then
    call('XADD', history, '*', 's', firstS, unpack(list, 2 * from + 1, 2 * (from + n)))
  end
  if trim then
    call('XTRIM', history, 'MINID', '~', minid)
  end
  return made
end

local i = 0
local a = 8 + 2 * tonumber(argv[7])
local last = #argv
while a <= last do
  local count, mS = tonumber(argv[a]), argv[a + 1]
  local m = tonumber(mS)
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
  for _ = 1, count do
    i = i + 1
    local meta = keys[i]
    local w = call('HGET', meta, 'w')
    -- `cur` = `<deadline> <epoch>[ <note>]` as `w` holds it (the reply's line after the first sequence), `p` = the
    -- position of the space in front of the note (nil: none; once the note is checked, `cur` has one), `stale` = a
    -- `g` field to delete. Where `epoch` is nil, `cur` is `w` and the epoch runs from after the deadline to `p`.
    local tag, epoch, renew, new, note, cur, p, stale
    if w then
      -- The deadline (as many digits as now) decides the comparison, and the epoch starts after it.
      renew = w < renewBefore
      cur = w
      p = find(w, ' ', nowLen + 2, true)
    else
      -- A meta without `w` (written before it was) has its epoch in `e` and maybe a note in `g`; or the user has none.
      local r = call('HMGET', meta, 'e', 'g')
      epoch, stale = r[1], r[2]
      renew = true
      if not epoch then
        epoch = argv[1] .. fmt('%d', i)
        new = true
        tag = sub(meta, 1, -5)
        call('DEL', tag .. 'history')
      end
      cur = '0 ' .. epoch
      if stale then
        p = #cur + 1
        cur = cur .. ' ' .. stale
      end
    end
    -- The live gateways from the note while its `until` (as many digits as now: compared as text) has not passed;
    -- else from the presence zset, noted in `w` when the meta is written.
    if not p or sub(cur, p + 1, p + nowLen) < nowS or (#cur ~= p + nowLen and byte(cur, p + nowLen + 1) ~= 32) then
      tag = tag or sub(meta, 1, -5)
      note = gatewaysNote(tag .. 'gw', now, nowS, gTtl)
      if p then
        cur = sub(cur, 1, p - 1)
      else
        p = #cur + 1
      end
      cur = cur .. ' ' .. note
    end
    local history = (tag or sub(meta, 1, -5)) .. 'history'
    -- The frames the user gets: the group's, less (with ids) those already appended in this epoch, whose earlier
    -- offsets are answered.
    local n, frames, markers = m, list, nil
    if ids then
      n, frames, markers = 0, {}, {}
      for j = 1, m do
        local k = ks[j]
        local id = argv[7 + 2 * k]
        local marker = false
        if id ~= '' then
          tag = tag or sub(meta, 1, -5)
          marker = tag .. 'f:' .. id
          local prior = call('GET', marker)
          if prior then
            epoch = epoch or sub(cur, nowLen + 2, p - 1)
            local sep = find(prior, ':', 1, true)
            if sep and sub(prior, 1, sep - 1) == epoch then
              kn = kn + 1
              known[kn] = '=' .. fmt('%d', i) .. ' ' .. fmt('%d', k) .. ' ' .. prior
              marker = nil
            end
          end
        end
        if marker ~= nil then
          n = n + 1
          frames[2 * n - 1] = 'b'
          frames[2 * n] = list[2 * j]
          markers[n] = marker
        end
      end
    end
    -- The user's last sequence after this call, and its first new one (as text).
    local seq, firstS
    if n == 0 then
      firstS = fmt('%d', (tonumber(call('HGET', meta, 's')) or 0) + 1)
    else
      seq = new and n or call('HINCRBY', meta, 's', n == m and mS or fmt('%d', n))
      firstS = fmt('%d', seq - n + 1)
      if n == 1 then
        -- The common case: one frame.
        local body = frames[2]
        local trim = seq % 16 == 0
        local made
        if trim then
          made = not call('XADD', history, 'NOMKSTREAM', 'MAXLEN', '~', cap, '*', 's', firstS, 'b', body)
        else
          made = not call('XADD', history, 'NOMKSTREAM', '*', 's', firstS, 'b', body)
        end
        if made then
          call('XADD', history, '*', 's', firstS, 'b', body)
          renew = true
        end
        if trim then
          call('XTRIM', history, 'MINID', '~', minid)
        end
      else
        for from = 0, n - 1, 64 do
          local c = n - from
          if c > 64 then c = 64 end
          if append(history, frames, from, c, seq - n + from + c, from == 0 and c == n and firstS) then
            renew = true
          end
        end
      end
      if markers then
        for j = 1, n do
          local marker = markers[j]
          if marker then
            epoch = epoch or sub(cur, nowLen + 2, p - 1)
            call('SET', marker, epoch .. ':' .. fmt('%d', seq - n + j), 'EX', markerTtl)
          end
        end
      end
      if renew then
        deadline = deadline or fmt('%d', now + retention + math.floor(retention / 4))
        epoch = epoch or sub(cur, nowLen + 2, p - 1)
        local nw = deadline .. ' ' .. epoch .. ' ' .. sub(cur, p + 1)
        if new then
          call('HSET', meta, 'e', epoch, 's', n == 1 and firstS or fmt('%d', seq), 'w', nw)
        elseif w then
          call('HSET', meta, 'w', nw)
        else
          call('HSET', meta, 'w', nw, 'v', deadline .. ' ' .. epoch)
        end
        if stale then
          call('HDEL', meta, 'g')
        end
      elseif note then
        call('HSET', meta, 'w', cur)
      end
      if renew then
        call('PEXPIREAT', meta, deadline)
        call('PEXPIREAT', history, deadline)
      end
    end
    o = o + 1
    out[o] = firstS .. ' ' .. cur
  end
end
for j = 1, kn do
  out[o + j] = known[j]
end
return table.concat(out, '\n')
