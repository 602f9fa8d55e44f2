--[[
  Resumes a queue: clears the paused flag and hands every held job back to its priority stream. Atomic.
  KEYS[1] paused flag   KEYS[2] held list   KEYS[3] counts
  ARGV[1] queue prefix
  returns the number of held jobs handed back
]]
redis.call('DEL', KEYS[1])
local ids = redis.call('LRANGE', KEYS[2], 0, -1)
local moved = 0
for _, id in ipairs(ids) do
  local jk = ARGV[1] .. 'job:' .. id
  local r = redis.call('HMGET', jk, 's', 'e', 'p')
  if r[1] == 'waiting' and (r[2] or '') == '' then
    local e = redis.call('XADD', ARGV[1] .. r[3], '*', 'd', '{"j":"' .. id .. '"}')
    redis.call('HSET', jk, 'e', e)
    moved = moved + 1
  end
end
redis.call('DEL', KEYS[2])
return moved
