--[[
  Acks a failed entry in its source stream and either schedules its retry for this group alone or, when its
  attempts are used up, appends it to the dead-letter stream. Atomic: an entry is never both acked and lost.
  KEYS[1] source stream (the shared stream or the group's retry stream)
  KEYS[2] the group's retry sorted set
  KEYS[3] dead-letter stream
  ARGV[1] group          ARGV[2] entry id in source   ARGV[3] original id   ARGV[4] attempts made
  ARGV[5] due time (ms)  ARGV[6] payload              ARGV[7] max attempts  ARGV[8] error text
  ARGV[9] now (ms)       ARGV[10] dead-letter cap     ARGV[11] "1" when the source is the retry stream
  returns 1 when scheduled for retry, 2 when dead-lettered
]]
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if ARGV[11] == '1' then redis.call('XDEL', KEYS[1], ARGV[2]) end
if tonumber(ARGV[4]) >= tonumber(ARGV[7]) then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[10], '*',
    'd', ARGV[6], 'o', ARGV[3], 'g', ARGV[1], 'e', ARGV[8], 'a', ARGV[4], 't', ARGV[9])
  return 2
end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[3] .. '\n' .. ARGV[4] .. '\n' .. ARGV[6])
return 1
