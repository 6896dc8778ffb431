/**
 * Lua scripts of the semantic cache (ADR 0008). Every key of a tenant carries the hash tag `{<tenant>}`, so a script
 * touches one Redis Cluster slot. Layout under `semcache:{T}:`:
 * - `s:<scope>:meta` hash {epoch, seq}: `seq` counts additions; `epoch` changes on every removal (and is set to the
 *   creation time in ms when the scope is created), so a reader holding a copy knows to reload it;
 * - `s:<scope>:vec` hash entry id → blob (float64 LE expiry in ms, then the unit vector as float32 LE);
 * - `s:<scope>:seq` zset entry id → addition number; `s:<scope>:exp` zset entry id → expiry (ms);
 * - `s:<scope>:e:<id>` string: the entry as JSON, with EX = its TTL;
 * - `dep:c:<chunk id>`, `dep:d:<document id>` sets of `<scope>|<id>`: the entries built from that chunk or document;
 * - `scopes` hash scope → route; `thresholds` hash route → calibrated threshold (JSON).
 */

/**
 * Reads what a reader's copy of a scope misses. KEYS: meta, vec, seq, thresholds. ARGV: the reader's epoch, its last
 * seq, the route (thresholds field). Returns {epoch, seq, threshold JSON or '', mode, id1, blob1, id2, blob2, ...}:
 * mode `full` (another epoch: every entry), `delta` (entries added after the reader's seq) or `same`.
 */
export const LOOKUP_LUA = `
local epoch = redis.call('HGET', KEYS[1], 'epoch') or '0'
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local th = redis.call('HGET', KEYS[4], ARGV[3]) or ''
local out = {epoch, tostring(seq), th}
if epoch ~= ARGV[1] then
  out[4] = 'full'
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all do out[#out + 1] = all[i] end
elseif seq > tonumber(ARGV[2]) then
  out[4] = 'delta'
  local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[2], '+inf')
  for i = 1, #ids, 500 do
    local part = {}
    for j = i, math.min(i + 499, #ids) do part[#part + 1] = ids[j] end
    local blobs = redis.call('HMGET', KEYS[2], unpack(part))
    for j = 1, #part do
      if blobs[j] then
        out[#out + 1] = part[j]
        out[#out + 1] = blobs[j]
      end
    end
  end
else
  out[4] = 'same'
end
return out
`;

/**
 * Adds one entry. KEYS: meta, vec, seq, exp, entry, scopes, then the dependency sets. ARGV: id, blob, entry JSON,
 * TTL (s), now (ms), max entries, scope, route, dependency member (`<scope>|<id>`), the scope's key prefix
 * (`semcache:{T}:s:<scope>:`). Sweeps up to 64 expired entries, refuses a repeated id (`exists`), evicts the oldest
 * entries over the maximum, and makes the scope's keys live as long as its longest entry (plus a minute).
 */
export const ADD_LUA = `
local now = tonumber(ARGV[5])
local ttl = tonumber(ARGV[4])
local prefix = ARGV[10]
local removed = 0
local function drop(id)
  if redis.call('HDEL', KEYS[2], id) == 1 then removed = removed + 1 end
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('DEL', prefix .. 'e:' .. id)
end
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('HSET', KEYS[1], 'epoch', tostring(now), 'seq', '0') end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 64)) do drop(id) end
local result = 'exists'
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  result = 'added'
  redis.call('SET', KEYS[5], ARGV[3], 'EX', ttl)
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  redis.call('ZADD', KEYS[3], seq, ARGV[1])
  redis.call('ZADD', KEYS[4], now + ttl * 1000, ARGV[1])
  redis.call('HSET', KEYS[6], ARGV[7], ARGV[8])
  for i = 7, #KEYS do
    redis.call('SADD', KEYS[i], ARGV[9])
    if redis.call('TTL', KEYS[i]) < ttl then redis.call('EXPIRE', KEYS[i], ttl) end
  end
  local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[6])
  if over > 0 then
    for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, over - 1)) do drop(id) end
  end
end
if removed > 0 then redis.call('HINCRBY', KEYS[1], 'epoch', 1) end
local last = redis.call('ZRANGE', KEYS[4], -1, -1, 'WITHSCORES')
if #last == 2 then
  local keep = math.max(1, math.ceil((tonumber(last[2]) - now) / 1000) + 60)
  for i = 1, 4 do redis.call('EXPIRE', KEYS[i], keep) end
end
return result
`;

/**
 * Drops every entry listed in the given dependency sets, then the sets. KEYS: dependency sets (one tenant). ARGV: the
 * tenant's key prefix (`semcache:{T}:`). Returns the number of entries dropped.
 */
export const INVALIDATE_LUA = `
local prefix = ARGV[1]
local dropped = 0
for k = 1, #KEYS do
  for _, member in ipairs(redis.call('SMEMBERS', KEYS[k])) do
    local scope, id = string.match(member, '^([^|]+)|(.+)$')
    if scope then
      local base = prefix .. 's:' .. scope .. ':'
      redis.call('DEL', base .. 'e:' .. id)
      if redis.call('HDEL', base .. 'vec', id) == 1 then
        redis.call('ZREM', base .. 'seq', id)
        redis.call('ZREM', base .. 'exp', id)
        redis.call('HINCRBY', base .. 'meta', 'epoch', 1)
        dropped = dropped + 1
      end
    end
  end
  redis.call('DEL', KEYS[k])
end
return dropped
`;
