--[[
  Prepares dead-lettered jobs for a replay: a failed (or orphaned active) job becomes retrying again and leaves
  the failed set, so the replayed entry starts it. Jobs whose record is gone are left alone.
  KEYS[1] counts   KEYS[2] failed set
  ARGV[1] queue prefix   ARGV[2..] job ids
  returns the number of jobs revived
]]
local n = 0
for i = 2, #ARGV do
  local jk = ARGV[1] .. 'job:' .. ARGV[i]
  local s = redis.call('HGET', jk, 's')
  if s == 'failed' or s == 'active' then
    if s == 'active' then redis.call('HINCRBY', KEYS[1], 'active', -1) end
    redis.call('HSET', jk, 's', 'retrying', 'n', 0)
    redis.call('HDEL', jk, 'f', 'w')
    redis.call('ZREM', KEYS[2], ARGV[i])
    redis.call('HINCRBY', KEYS[1], 'retrying', 1)
    n = n + 1
  end
end
return n
