--[[
  Records n bumps in order, each unless its pair is cooling down: a pair's cooldown marker and its append happen
  together or not at all (the whole call is atomic).
  KEYS[1] the bumps stream   KEYS[1+i] the cooldown key of bump i's pair (same hash tag)
  ARGV[1] cooldown (ms)   ARGV[2] approximate stream cap   ARGV[1+2i] bump i's id   ARGV[2+2i] its payload (JSON)
  returns, per bump: its entry id (a string) when appended, else the pair's remaining cooldown ms (an integer)
]]
local out = {}
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'NX', 'PX', ARGV[1]) then
    out[i - 1] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'd', ARGV[2 * i])
  else
    out[i - 1] = redis.call('PTTL', KEYS[i])
  end
end
return out
