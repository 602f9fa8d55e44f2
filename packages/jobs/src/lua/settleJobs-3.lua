--[[
  Records the outcome of runs and applies retention. A run is settled only while it is the job's active run
  (a run that lost its job to a reclaim settles nothing). Completed and failed jobs enter their finished set;
  the oldest records past the retention count or age are deleted in the same call, so memory stays bounded by
  the retention settings. With no runs given it only applies retention.
  KEYS[1] counts   KEYS[2] completed set   KEYS[3] failed set
  ARGV[1] queue prefix   ARGV[2] now (ms)
  ARGV[3] completed kept (count)   ARGV[4] completed kept (age ms)   ARGV[5] failed kept (count)   ARGV[6] failed kept (age ms)
  ARGV[7..] quads: job id, attempt, outcome ('c' completed, 'r' retrying, 'f' failed), result or error
  A run to be retried whose job was cancelled meanwhile (flag `k`) fails for good with error 'cancelled'.
  returns a list with 1 per settled run, 2 per retry turned into a cancellation and 0 per stale run
]]
local prefix, now = ARGV[1], tonumber(ARGV[2])

local function trim(set, keep, age)
  local n = redis.call('ZCARD', set)
  local ids = {}
  if n > keep then ids = redis.call('ZRANGE', set, 0, n - keep - 1) end
  local old = redis.call('ZRANGEBYSCORE', set, '-inf', now - age, 'LIMIT', 0, 1000)
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

local out = {}
local doneC, doneF = #ARGV == 6, #ARGV == 6
for i = 7, #ARGV, 4 do
  local id, attempt, kind, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local jk = prefix .. 'job:' .. id
  local r = redis.call('HMGET', jk, 's', 'n', 'k')
  if r[1] == 'active' and r[2] == attempt then
    local settled = 1
    if kind == 'r' and r[3] then
      kind, payload, settled = 'f', 'cancelled', 2
    end
    redis.call('HINCRBY', KEYS[1], 'active', -1)
    if kind == 'c' then
      redis.call('HSET', jk, 's', 'completed', 'r', payload, 'f', now)
      redis.call('HDEL', jk, 'w')
      redis.call('ZADD', KEYS[2], now, id)
      doneC = true
    elseif kind == 'r' then
      redis.call('HSET', jk, 's', 'retrying', 'x', payload)
      redis.call('HINCRBY', KEYS[1], 'retrying', 1)
    else
      redis.call('HSET', jk, 's', 'failed', 'x', payload, 'f', now)
      redis.call('HDEL', jk, 'w')
      redis.call('ZADD', KEYS[3], now, id)
      doneF = true
    end
    out[#out + 1] = settled
  else
    out[#out + 1] = 0
  end
end
if doneC then trim(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4])) end
if doneF then trim(KEYS[3], tonumber(ARGV[5]), tonumber(ARGV[6])) end
return out
