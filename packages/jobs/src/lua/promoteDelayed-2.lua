--[[
  Moves due delayed jobs and due retries to their priority streams. Atomic, so several workers may run it at once without
  enqueueing a job twice. Job hashes and streams are built from the queue prefix (same hash slot).
  KEYS[1] delayed set   KEYS[2] counts
  ARGV[1] queue prefix  ARGV[2] now (ms)   ARGV[3] most jobs to move
  returns { moved, due time of the next delayed job or -1 }
]]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  local jk = ARGV[1] .. 'job:' .. id
  local r = redis.call('HMGET', jk, 's', 'p')
  if r[1] == 'delayed' or r[1] == 'retrying' then
    local e = redis.call('XADD', ARGV[1] .. r[2], '*', 'd', '{"j":"' .. id .. '"}')
    redis.call('HSET', jk, 's', 'waiting', 'e', e)
    redis.call('HINCRBY', KEYS[2], 'waiting:' .. r[2], 1)
  end
  redis.call('ZREM', KEYS[1], id)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if nxt[2] then return { #due, tonumber(nxt[2]) } end
return { #due, -1 }
