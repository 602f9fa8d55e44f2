--[[
  Enqueues one job: writes its record and either appends it to its priority stream or schedules it in the
  delayed set. With an idempotency marker, a second add with the same key returns the first job's id and
  writes nothing. Atomic.
  KEYS[1] job hash   KEYS[2] idempotency marker   KEYS[3] priority stream   KEYS[4] delayed set   KEYS[5] counts
  ARGV[1] job id     ARGV[2] data (JSON)          ARGV[3] priority          ARGV[4] owner ('' = none)
  ARGV[5] now (ms)   ARGV[6] due time (ms)        ARGV[7] max attempts      ARGV[8] marker TTL ms ('0' = no marker)
  returns { job id, 1 when created or 0 when the marker already named a job }
]]
if ARGV[8] ~= '0' then
  local existing = redis.call('GET', KEYS[2])
  if existing then return { existing, 0 } end
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[8])
end
-- one write of the record, its state first (the field every script reads)
local fields = { 's', 'waiting', 'e', '', 'p', ARGV[3], 'd', ARGV[2], 'c', ARGV[5], 'm', ARGV[7], 'a', '0' }
if ARGV[4] ~= '' then
  fields[#fields + 1] = 'o'
  fields[#fields + 1] = ARGV[4]
end
if tonumber(ARGV[6]) > tonumber(ARGV[5]) then
  fields[2] = 'delayed'
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1])
else
  fields[4] = redis.call('XADD', KEYS[3], '*', 'd', '{"j":"' .. ARGV[1] .. '"}')
  redis.call('HINCRBY', KEYS[5], 'waiting:' .. ARGV[3], 1)
end
redis.call('HSET', KEYS[1], unpack(fields))
return { ARGV[1], 1 }
