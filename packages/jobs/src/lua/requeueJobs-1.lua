--[[
  Hands jobs a worker read but will not start back to the tail of their priority stream with a fresh entry, and
  acks the old entry. Used for jobs that waited too long behind higher priorities and for entries a closing worker
  still holds. Only jobs still waiting from the given entry move; any other entry is just acked, unless it is the
  entry of a run in progress.
  KEYS[1] counts
  ARGV[1] queue prefix   ARGV[2] consumer group   ARGV[3..] triples: job id, entry id, priority
  returns the number of jobs requeued
]]
local moved = 0
for i = 3, #ARGV, 3 do
  local id, entry, p = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local jk = ARGV[1] .. 'job:' .. id
  local r = redis.call('HMGET', jk, 's', 'e')
  if not (r[1] == 'active' and r[2] == entry) then redis.call('XACK', ARGV[1] .. p, ARGV[2], entry) end
  if r[1] == 'waiting' and r[2] == entry then
    local e = redis.call('XADD', ARGV[1] .. p, '*', 'd', '{"j":"' .. id .. '"}')
    redis.call('HSET', jk, 'e', e)
    moved = moved + 1
  end
end
return moved
