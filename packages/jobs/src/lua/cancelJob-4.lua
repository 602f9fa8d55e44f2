--[[
  Cancels one job. A waiting, delayed or retrying job fails at once with error 'cancelled' (it leaves the delayed
  set, a retry its due time in it; a stream entry or held slot it still has is skipped when read, as for any finished job) and, when it has
  an owner, is queued for a worker to report. An active job gets the cancel flag `k`: the worker running it
  aborts its signal, and the run settles as failed without a retry. A finished job is left as it is. Atomic.
  KEYS[1] counts   KEYS[2] delayed set   KEYS[3] failed set   KEYS[4] list of cancellations to report
  ARGV[1] queue prefix   ARGV[2] job id   ARGV[3] now (ms)
  returns 'cancelled', 'cancelling', 'not_found' or 'finished'
]]
local id = ARGV[2]
local jk = ARGV[1] .. 'job:' .. id
local r = redis.call('HMGET', jk, 's', 'p', 'o')
local s = r[1]
if not s then return 'not_found' end
if s == 'completed' or s == 'failed' then return 'finished' end
if s == 'active' then
  redis.call('HSET', jk, 'k', '1')
  return 'cancelling'
end
if s == 'waiting' then
  redis.call('HINCRBY', KEYS[1], 'waiting:' .. r[2], -1)
else
  redis.call('ZREM', KEYS[2], id)
end
redis.call('HSET', jk, 's', 'failed', 'x', 'cancelled', 'f', ARGV[3], 'k', '1')
redis.call('ZADD', KEYS[3], ARGV[3], id)
if r[3] and r[3] ~= '' then
  redis.call('RPUSH', KEYS[4], cjson.encode({ j = id, o = r[3] }))
  redis.call('LTRIM', KEYS[4], -10000, -1)
end
return 'cancelled'
