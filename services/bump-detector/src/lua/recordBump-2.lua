--[[
  Records a bump unless its pair is cooling down: the cooldown marker and the append happen together or not at all.
  KEYS[1] the pair's cooldown key   KEYS[2] the bumps stream (same hash tag)
  ARGV[1] cooldown (ms)   ARGV[2] bump id   ARGV[3] payload (BumpEvent JSON)   ARGV[4] approximate stream cap
  returns { 1, entry id } when appended, { 0, remaining cooldown ms } when the pair is cooling down
]]
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[1]) then
  local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'd', ARGV[3])
  return { 1, id }
end
return { 0, redis.call('PTTL', KEYS[1]) }
