--[[
  Runs dead-lettered jobs again with fresh attempts: each failed job becomes waiting with its attempt count reset,
  leaves the failed set and gets a fresh entry in its priority stream; its dead letter is removed. A dead letter
  whose job is gone (trimmed by retention) or no longer failed is removed without a run. Idempotent per id.
  KEYS[1] counts   KEYS[2] failed set   KEYS[3] dead-letter stream
  ARGV[1] queue prefix   ARGV[2..] dead-letter ids
  returns the number of jobs replayed
]]
local n = 0
for i = 2, #ARGV do
  local rows = redis.call('XRANGE', KEYS[3], ARGV[i], ARGV[i])
  if #rows > 0 then
    local f = rows[1][2]
    local d = ''
    for j = 1, #f, 2 do
      if f[j] == 'd' then d = f[j + 1] end
    end
    local id = string.match(d, '"j":"([^"]+)"')
    if id then
      local jk = ARGV[1] .. 'job:' .. id
      local r = redis.call('HMGET', jk, 's', 'p')
      if r[1] == 'failed' then
        local e = redis.call('XADD', ARGV[1] .. r[2], '*', 'd', '{"j":"' .. id .. '"}')
        redis.call('HSET', jk, 's', 'waiting', 'e', e, 'a', 0)
        redis.call('HDEL', jk, 'f', 'k')
        redis.call('ZREM', KEYS[2], id)
        redis.call('HINCRBY', KEYS[1], 'waiting:' .. r[2], 1)
        n = n + 1
      end
    end
    redis.call('XDEL', KEYS[3], ARGV[i])
  end
end
return n
