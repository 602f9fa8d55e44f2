--[[
  Takes a group's fan-out lock and records the pass planned from the cursor's `done`, when the cursor has not moved
  since and no recorded pass is in flight; marks the group dirty when another owner holds the lock.
  KEYS[1] lock   KEYS[2] dirty flag   KEYS[3] cursor hash {done, unit, ...}
  ARGV[1] owner token   ARGV[2] lock TTL (ms)   ARGV[3] the `done` the pass was planned from
  ARGV[4] the pass's units, `lo:hi` joined by `,`
  returns 1 locked and recorded, 2 locked but nothing recorded (the cursor moved or a pass is in flight: read it
          again), 0 another owner holds the lock (the group is marked dirty)
]]
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
    return 0
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local c = redis.call('HMGET', KEYS[3], 'done', 'unit')
local done = tonumber(c[1] or '0')
if done ~= tonumber(ARGV[3]) then
  return 2
end
if c[2] then
  local lo = tonumber(string.match(c[2], '^(%d+):'))
  if lo and lo > done then
    return 2
  end
end
redis.call('HSET', KEYS[3], 'unit', ARGV[4])
return 1
