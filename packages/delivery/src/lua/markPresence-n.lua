--[[
  Registers (or removes) one gateway for n users. When that changes a user's live gateways (a gateway joins, comes
  back after its registration lapsed, or leaves), notes them in the user's meta hash, where the append script reads
  them with the user's sequence; a refresh of a live registration leaves the meta alone (the note then lapses at
  the old expiry, and the append script reads the zset once and notes the gateways again).
  KEYS[2i-1] user i's presence zset `<tag>:gw` (gateway ids scored by the time, ms, their registration expires)
  KEYS[2i] user i's meta hash `<tag>:meta`; the note `<until>[ <gateway>...]`: the live gateways, valid until
  `until` (ms, the earliest expiry among them, or now + ARGV[3] when there are none). A meta with `w`
  (`<expiry deadline> <epoch> <until>[ <gateway>...]`, see appendFrames-n.lua) gets the note there, after its
  deadline and epoch; a meta without (the user has no sequence yet, or it was written before `w` was) gets it in
  field `g`, which the append script reads and moves into `w`.
  ARGV[1] gateway id   ARGV[2] registration expiry (ms), or '' to remove the gateway   ARGV[3] registration TTL (ms)
  returns the number of users whose live gateways changed
  A zset lives twice the TTL after its last registration. A meta that only holds the note expires twice the TTL
  after it was made; a meta with a sequence keeps its own expiry.
]]
local fmt, find, sub = string.format, string.find, string.sub
local gateway = ARGV[1]
local expires = ARGV[2]
local ttl = tonumber(ARGV[3])
local ttl2 = fmt('%d', 2 * ttl)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowS = fmt('%d', now)
local changed = 0
for i = 1, #KEYS, 2 do
  local zset, meta = KEYS[i], KEYS[i + 1]
  local change
  if expires == '' then
    change = redis.call('ZREM', zset, gateway) == 1
  else
    local prior = redis.call('ZSCORE', zset, gateway)
    change = not prior or tonumber(prior) < now
    redis.call('ZADD', zset, expires, gateway)
    redis.call('PEXPIRE', zset, ttl2)
  end
  if change then
    changed = changed + 1
    local value = gatewaysNote(zset, now, nowS, ttl)
    local w = redis.call('HGET', meta, 'w')
    if w then
      -- `<deadline> <epoch>` kept, the note after it replaced.
      local p = find(w, ' ', find(w, ' ', 1, true) + 1, true)
      redis.call('HSET', meta, 'w', (p and sub(w, 1, p - 1) or w) .. ' ' .. value)
    elseif redis.call('HSET', meta, 'g', value) == 1 and redis.call('HEXISTS', meta, 'e') == 0 then
      redis.call('PEXPIRE', meta, ttl2)
    end
  end
end
return changed
