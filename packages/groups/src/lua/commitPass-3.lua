--[[
  Records that a fan-out pass reached every member: moves the group's cursor to the pass's last seq, counts its
  messages, frames and bursts, and records the next pass (when one is planned) or lets go of the lock (unless the
  group was marked dirty meanwhile), only while the caller holds the group's fan-out lock.
  KEYS[1] cursor hash {done, unit, messages, bursts, frames}   KEYS[2] lock   KEYS[3] dirty flag
  ARGV[1] owner token   ARGV[2] the pass's last seq   ARGV[3] messages   ARGV[4] frames   ARGV[5] bursts
  ARGV[6] lock TTL (ms)   ARGV[7] the next pass's units (`lo:hi` joined by `,`), '' for none
  ARGV[8] 1 to let go of the lock when no next pass is given
  returns 0 the lock is not the caller's (nothing changed), 1 committed (and let go when asked),
          2 committed but kept: the group was marked dirty (the flag is cleared; drain again)
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
local hi = tonumber(ARGV[2])
if hi > done then
  redis.call('HSET', KEYS[1], 'done', hi)
end
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 'unit', ARGV[7])
else
  redis.call('HDEL', KEYS[1], 'unit')
end
redis.call('HINCRBY', KEYS[1], 'messages', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'frames', ARGV[4])
if ARGV[5] ~= '0' then
  redis.call('HINCRBY', KEYS[1], 'bursts', ARGV[5])
end
if ARGV[7] == '' and ARGV[8] == '1' then
  if redis.call('DEL', KEYS[3]) == 1 then
    redis.call('PEXPIRE', KEYS[2], ARGV[6])
    return 2
  end
  redis.call('DEL', KEYS[2])
  return 1
end
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return 1
