--[[
  Finish and fetch in one call. Records the outcomes of runs (acking their stream entries), decides which of the
  given entries start, then reads up to `want` more entries (high, then normal, then low; a lower stream is not
  read while a higher priority still waits) and starts them, and applies retention. A worker's whole exchange with
  Redis per flush is this one call.
  Outcomes settle only the job's active run (a run that lost its job to a reclaim settles nothing). A retry goes
  to the delayed set at its due time; a final failure goes to the failed set and the dead-letter stream; a run to
  be retried whose job was cancelled meanwhile (flag `k`) fails for good with error 'cancelled'.
  A job starts only from its current entry, when not finished, not paused (paused jobs are parked in the held list
  and handed back on resume) and no higher priority waits. A reclaimed entry of an active job (its worker died)
  starts it again as a new attempt, or fails it for good when its attempts are used up.
  With no outcome, no entry and nothing wanted, it only applies retention.
  KEYS[1] counts   KEYS[2] paused flag   KEYS[3] held list   KEYS[4] delayed set   KEYS[5] completed set
  KEYS[6] failed set   KEYS[7] dead-letter stream
  ARGV[1] queue prefix   ARGV[2] now (ms)   ARGV[3] worker name (consumer)   ARGV[4] consumer group
  ARGV[5] jobs wanted (given entries started count)   ARGV[6] completed kept (count)
  ARGV[7] completed removed when finished at or before (ms)   ARGV[8] failed kept (count)
  ARGV[9] failed removed when finished at or before (ms)   ARGV[10] dead-letter cap   ARGV[11] outcomes (K)
  ARGV[12..] K outcomes, each one string of space-separated job id, attempt, outcome ('c' completed, 'r' retry,
  'f' failed, 'x' cancelled), entry id, priority, retry due time (ms), then the result or error (the rest of the
  string); then quads: job id, entry id, priority, 1 when reclaimed
  returns { a digit per outcome (1 settled, 2 retry turned into a cancellation, 0 stale run), per given entry and
  per entry started from the streams five space-separated tokens: code (0 start, 1 skip, 2 held, 3 a higher
  priority waits, 4 failed for good), job id, entry id, priority, attempt; how many wanted were not found (> 0:
  the streams had no more to start); then data and owner of each job started, in order }
]]
-- Numbers handed to redis.call or concatenated are formatted with sprintf, so the per-job path keeps to strings.
local prefix, now, worker, group = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local K = tonumber(ARGV[11])
local nextAttempt = { ['0'] = '1', ['1'] = '2', ['2'] = '3', ['3'] = '4', ['4'] = '5', ['5'] = '6' }
local waitingKey = { high = 'waiting:high', normal = 'waiting:normal', low = 'waiting:low' }
-- the reply: its first three slots are filled last; data and owner of each job started follow them
local codes, heads, out = {}, {}, { '', '', 0 }
local delta = {}
local doneC, doneF = false, false
local function add(field, n) delta[field] = (delta[field] or 0) + n end

local function dead(id, entry, p, err, attempt)
  redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[10], '*', 'd', '{"j":"' .. id .. '"}', 'o', entry, 'g', p,
    'e', err, 'a', attempt, 't', now)
end

-- outcomes; their entries are acked together, one XACK per priority
local acks = {}
local q = 12
for _ = 1, K do
  local id, attempt, kind, entry, p, due, payload =
    string.match(ARGV[q], '^(%S+) (%d+) (%a) (%S+) (%a+) (%d+) (.*)$')
  local jk = prefix .. 'job:' .. id
  -- the cancel flag matters to a retry only (a missing field costs a scan of the whole record)
  local r = kind == 'r' and redis.call('HMGET', jk, 's', 'a', 'k') or redis.call('HMGET', jk, 's', 'a')
  local s = r[1]
  if s == 'active' and r[2] == attempt then
    local settled = '1'
    if kind == 'r' and r[3] then kind, payload, settled = 'x', 'cancelled', '2' end
    add('active', -1)
    acks[p] = acks[p] or {}
    acks[p][#acks[p] + 1] = entry
    if kind == 'c' then
      -- a null result is what a record without one reads as: not written (a field less to insert)
      if payload == 'null' then redis.call('HSET', jk, 's', 'completed', 'f', now)
      else redis.call('HSET', jk, 's', 'completed', 'r', payload, 'f', now) end
      redis.call('ZADD', KEYS[5], now, id)
      doneC = true
    elseif kind == 'r' then
      redis.call('HSET', jk, 's', 'retrying', 'x', payload)
      redis.call('ZADD', KEYS[4], due, id)
    else
      redis.call('HSET', jk, 's', 'failed', 'x', payload, 'f', now)
      redis.call('ZADD', KEYS[6], now, id)
      if kind == 'f' then dead(id, entry, p, payload, attempt) end
      doneF = true
    end
    codes[#codes + 1] = settled
  else
    -- a finished or vanished job's entry is no longer needed; a job active elsewhere keeps its entry pending
    if s ~= 'active' then redis.call('XACK', prefix .. p, group, entry) end
    codes[#codes + 1] = '0'
  end
  q = q + 1
end

for p, entries in pairs(acks) do redis.call('XACK', prefix .. p, group, unpack(entries)) end

local paused = redis.call('EXISTS', KEYS[2]) == 1
local waiting = {}
local function waits(p)
  if waiting[p] == nil then
    waiting[p] = tonumber(redis.call('HGET', KEYS[1], 'waiting:' .. p) or '0') + (delta['waiting:' .. p] or 0)
  end
  return waiting[p] > 0
end
local function gated(p)
  if p == 'high' then return false end
  return waits('high') or (p == 'low' and waits('normal'))
end

local function start(id, entry, p, reclaimed)
  local jk = prefix .. 'job:' .. id
  local r = redis.call('HMGET', jk, 's', 'e', 'd', 'o', 'a', 'm')
  local s = r[1]
  local code, attempt = '0', r[5] or '0'
  if not s or r[2] ~= entry or (s ~= 'waiting' and not (s == 'active' and reclaimed)) then
    -- the entry of a run in progress stays pending with its worker; any other is done with
    code = '1'
    if not (s == 'active' and r[2] == entry) then redis.call('XACK', prefix .. p, group, entry) end
  elseif paused then
    code = '2'
    if s == 'active' then
      redis.call('HSET', jk, 's', 'waiting')
      add('active', -1)
      add(waitingKey[p], 1)
    end
    redis.call('RPUSH', KEYS[3], id)
    redis.call('HSET', jk, 'e', '')
    redis.call('XACK', prefix .. p, group, entry)
  elseif s == 'waiting' and gated(p) then
    code = '3'
  elseif s == 'active' and tonumber(attempt) >= tonumber(r[6] or '1') then
    code = '4'
    local err = 'consumer died handling it ' .. attempt .. ' times'
    redis.call('HSET', jk, 's', 'failed', 'x', err, 'f', now)
    redis.call('ZADD', KEYS[6], now, id)
    redis.call('XACK', prefix .. p, group, entry)
    dead(id, entry, p, err, attempt)
    add('active', -1)
    doneF = true
  else
    if s == 'waiting' then
      add(waitingKey[p], -1)
      if waiting[p] then waiting[p] = waiting[p] - 1 end
      add('active', 1)
    end
    attempt = nextAttempt[attempt] or tostring(tonumber(attempt) + 1)
    redis.call('HSET', jk, 's', 'active', 'a', attempt, 't', now, 'w', worker)
    out[#out + 1] = r[3] or ''
    out[#out + 1] = r[4] or ''
  end
  local n = #heads
  heads[n + 1], heads[n + 2], heads[n + 3], heads[n + 4], heads[n + 5] = code, id, entry, p, attempt
  return code
end

-- given entries (from a blocking read or a reclaim); each one started takes one of the wanted
local want = tonumber(ARGV[5])
for i = q, #ARGV, 4 do
  if start(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3] == '1') == '0' then want = want - 1 end
end

-- entries read here
if not paused then
  for _, p in ipairs({ 'high', 'normal', 'low' }) do
    if want <= 0 or gated(p) then break end
    local res = redis.pcall('XREADGROUP', 'GROUP', group, worker, 'COUNT', want, 'STREAMS', prefix .. p, '>')
    if type(res) == 'table' and res[1] then
      for _, e in ipairs(res[1][2]) do
        local id = string.match(e[2][2] or '', '"j":"([^"]+)"')
        if id then
          if start(id, e[1], p, false) == '0' then want = want - 1 end
        else
          redis.call('XACK', prefix .. p, group, e[1])
        end
      end
    end
  end
end

for field, n in pairs(delta) do
  if n ~= 0 then redis.call('HINCRBY', KEYS[1], field, n) end
end

local function trim(set, keep, before)
  local n = redis.call('ZCARD', set)
  local ids = {}
  if n > keep then ids = redis.call('ZRANGE', set, '0', n - keep - 1) end
  local old = redis.call('ZRANGEBYSCORE', set, '-inf', before, 'LIMIT', '0', '1000')
  for _, id in ipairs(old) do ids[#ids + 1] = id end
  for i = 1, #ids, 500 do
    local keys, members = {}, {}
    for j = i, math.min(i + 499, #ids) do
      keys[#keys + 1] = prefix .. 'job:' .. ids[j]
      members[#members + 1] = ids[j]
    end
    redis.call('DEL', unpack(keys))
    redis.call('ZREM', set, unpack(members))
  end
end
local only = K == 0 and #ARGV < q and ARGV[5] == '0'
if doneC or only then trim(KEYS[5], tonumber(ARGV[6]), ARGV[7]) end
if doneF or only then trim(KEYS[6], tonumber(ARGV[8]), ARGV[9]) end
out[1], out[2], out[3] = table.concat(codes), table.concat(heads, ' '), want
return out
