--[[
  Lets go of a group's fan-out lock unless the group was marked dirty since the holder last looked.
  KEYS[1] lock   KEYS[2] dirty flag
  ARGV[1] owner token   ARGV[2] lock TTL (ms)   ARGV[3] 1 to let go even when dirty (the holder failed)
  returns 1 released, 0 kept (the flag was set: drain again; the flag is cleared and the lock refreshed),
          -1 the lock is not the caller's (it expired and may be held by another drainer)
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
if ARGV[3] ~= '1' and redis.call('DEL', KEYS[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
redis.call('DEL', KEYS[1])
return 1
