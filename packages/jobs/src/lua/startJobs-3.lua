--[[
  Decides, for a batch of entries read from one priority stream, which jobs start now. A job starts only when
  its entry is the job's current one (stale duplicates are skipped), it is not finished, no newer run of it is
  active, the queue is not paused (paused jobs are parked in the held list and handed back on resume) and no job
  of a higher priority is waiting (strict priority at start time). A job whose worker died (state active, older
  run) starts again. Atomic per batch.
  KEYS[1] counts   KEYS[2] paused flag   KEYS[3] held list
  ARGV[1] queue prefix   ARGV[2] now (ms)   ARGV[3] worker name   ARGV[4] priority of the stream
  ARGV[5..] triples: job id, entry id, attempt
  returns a flat list per job: code (0 start, 1 skip, 2 held, 3 a higher priority waits), data, owner, runs
]]
local out = {}
local paused = redis.call('EXISTS', KEYS[2]) == 1
local gated = false
if ARGV[4] ~= 'high' then
  if tonumber(redis.call('HGET', KEYS[1], 'waiting:high') or '0') > 0 then gated = true end
  if ARGV[4] == 'low' and tonumber(redis.call('HGET', KEYS[1], 'waiting:normal') or '0') > 0 then gated = true end
end
for i = 5, #ARGV, 3 do
  local id, entry, attempt = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local jk = ARGV[1] .. 'job:' .. id
  local r = redis.call('HMGET', jk, 's', 'e', 'n', 'd', 'o', 'p', 'a')
  local s = r[1]
  local code = 0
  if not s or r[2] ~= entry or s == 'completed' or s == 'failed' or s == 'delayed' then
    code = 1
  elseif s == 'active' then
    if tonumber(r[3] or '0') >= attempt then code = 1 end
  elseif paused then
    code = 2
  elseif gated then
    code = 3
  end
  if code == 2 then
    redis.call('RPUSH', KEYS[3], id)
    redis.call('HSET', jk, 'e', '')
    if s == 'retrying' then
      redis.call('HSET', jk, 's', 'waiting')
      redis.call('HINCRBY', KEYS[1], 'retrying', -1)
      redis.call('HINCRBY', KEYS[1], 'waiting:' .. r[6], 1)
    end
  elseif code == 0 then
    if s == 'waiting' then
      redis.call('HINCRBY', KEYS[1], 'waiting:' .. r[6], -1)
      redis.call('HINCRBY', KEYS[1], 'active', 1)
    elseif s == 'retrying' then
      redis.call('HINCRBY', KEYS[1], 'retrying', -1)
      redis.call('HINCRBY', KEYS[1], 'active', 1)
    end
    redis.call('HSET', jk, 's', 'active', 'n', attempt, 't', ARGV[2], 'w', ARGV[3])
    r[7] = redis.call('HINCRBY', jk, 'a', 1)
  end
  out[#out + 1] = code
  out[#out + 1] = r[4] or ''
  out[#out + 1] = r[5] or ''
  out[#out + 1] = tonumber(r[7] or '0')
end
return out
