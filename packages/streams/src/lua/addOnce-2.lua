--[[
  Appends an entry unless one with the same client id was appended within the dedupe window.
  KEYS[1] stream   KEYS[2] dedupe key of the client id (same hash tag as the stream)
  ARGV[1] approximate cap   ARGV[2] payload   ARGV[3] dedupe window (s)
  returns { entry id, 1 when appended now or 0 when it was appended before }
]]
local prior = redis.call('GET', KEYS[2])
if prior then return { prior, 0 } end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'd', ARGV[2])
redis.call('SET', KEYS[2], id, 'EX', ARGV[3])
return { id, 1 }
