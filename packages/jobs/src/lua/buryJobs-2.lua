--[[
  Marks jobs failed whose last entry the bus dead-lettered without the job engine settling it (a run that killed
  its worker once too often is buried by the reclaimer). Only a job whose current entry is the dead-lettered one
  and that is not finished changes, so running it twice, or on any dead letter, is harmless.
  KEYS[1] counts   KEYS[2] failed set
  ARGV[1] queue prefix   ARGV[2] now (ms)
  ARGV[3..] triples: job id, dead-lettered entry id, reason
  returns the number of jobs marked failed
]]
local n = 0
for i = 3, #ARGV, 3 do
  local id = ARGV[i]
  local jk = ARGV[1] .. 'job:' .. id
  local r = redis.call('HMGET', jk, 's', 'e', 'p')
  local s = r[1]
  if r[2] == ARGV[i + 1] and (s == 'active' or s == 'waiting' or s == 'retrying') then
    if s == 'active' then
      redis.call('HINCRBY', KEYS[1], 'active', -1)
    elseif s == 'retrying' then
      redis.call('HINCRBY', KEYS[1], 'retrying', -1)
    else
      redis.call('HINCRBY', KEYS[1], 'waiting:' .. r[3], -1)
    end
    redis.call('HSET', jk, 's', 'failed', 'x', ARGV[i + 2], 'f', ARGV[2])
    redis.call('HDEL', jk, 'w')
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    n = n + 1
  end
end
return n
