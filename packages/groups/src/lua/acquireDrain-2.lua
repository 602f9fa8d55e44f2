--[[
  Takes a group's fan-out lock, or marks the group dirty so the holder drains once more before it lets go.
  KEYS[1] lock   KEYS[2] dirty flag
  ARGV[1] owner token   ARGV[2] lock TTL (ms)
  returns 1 when the caller holds the lock now (taken or already its own), 0 when another owner holds it
]]
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 0
