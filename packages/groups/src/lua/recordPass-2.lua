--[[
  Records the units of the fan-out pass about to be delivered, so that a drainer taking over after a crash delivers
  exactly these units again, only while the caller holds the group's fan-out lock.
  KEYS[1] cursor hash {done, unit, messages, bursts, frames}   KEYS[2] lock
  ARGV[1] owner token   ARGV[2] the pass's units, `lo:hi` joined by `,`   ARGV[3] lock TTL (ms)
  returns 1 recorded, 0 the lock is not the caller's (nothing changed)
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'unit', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
