--[[
  Hands jobs back to the tail of their priority stream with a fresh entry (the old entry becomes stale and is
  skipped if seen again). Used for jobs that waited too long behind higher priorities and for jobs held while
  the queue was paused. Only jobs still waiting or retrying, whose current entry is the given one, move.
  KEYS[1] counts
  ARGV[1] queue prefix   ARGV[2..] pairs: job id, entry id ('' for held jobs)
  returns the number of jobs requeued
]]
local moved = 0
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local jk = ARGV[1] .. 'job:' .. id
  local r = redis.call('HMGET', jk, 's', 'e', 'p')
  if (r[1] == 'waiting' or r[1] == 'retrying') and (r[2] or '') == ARGV[i + 1] then
    local e = redis.call('XADD', ARGV[1] .. r[3], '*', 'd', '{"j":"' .. id .. '"}')
    redis.call('HSET', jk, 'e', e)
    if r[1] == 'retrying' then
      redis.call('HSET', jk, 's', 'waiting')
      redis.call('HINCRBY', KEYS[1], 'retrying', -1)
      redis.call('HINCRBY', KEYS[1], 'waiting:' .. r[3], 1)
    end
    moved = moved + 1
  end
end
return moved
