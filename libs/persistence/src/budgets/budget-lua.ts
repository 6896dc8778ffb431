/**
 * The budget reservation scripts (Redis Lua, run atomically by EVALSHA). Each script gets KEYS[1] = the tenant's
 * lease set (so a Cluster client routes it to the tenant's slot) and ARGV[1..3] = key prefix `budget:{T}:`, the
 * caller's clock (epoch ms) and the tombstone TTL (ms); it builds the tenant's other keys from the prefix, all in the
 * same hash slot (see BudgetKeys). Amounts are micro-USD integers, passed and stored as decimal strings.
 *
 * Every script first sweeps up to SWEEP_BATCH expired leases: a held reservation whose lease ended gives its amount
 * back to the reserved counters and becomes `expired`. So a crashed holder's money comes back on the tenant's next
 * budget operation, or at the latest on the reconciler's next pass.
 *
 * Reservation states: held → settled | released | expired; released | expired → settled (a late bill is still spent);
 * settled is final. A terminal reservation stays as a tombstone (TTL) so a repeated settle or release is a no-op.
 */

/** Expired leases reclaimed per script call (bounds the script's run time). */
export const SWEEP_BATCH = 64;
/** Batches the snapshot and recount scripts sweep at most (SWEEP_BATCH × this leases), so no call blocks Redis for long. */
export const FULL_SWEEP_ROUNDS = 16;

const PRELUDE = `
local prefix = ARGV[1]
local now = tonumber(ARGV[2])
local tombstone_ms = tonumber(ARGV[3])
local leases = KEYS[1]

local function split(s)
  local out = {}
  if not s then return out end
  for w in string.gmatch(s, '%S+') do out[#out + 1] = w end
  return out
end

local function counter_ttl(c, day_ttl, month_ttl)
  if string.find(c, '|day:', 1, true) then return day_ttl end
  return month_ttl
end

-- Gives a held reservation's amount back to the reserved counters it was added to (a counter that expired meanwhile
-- is left alone rather than recreated negative).
local function unhold(rkey)
  local amount = redis.call('HGET', rkey, 'amount')
  if not amount or amount == '0' then return end
  for _, c in ipairs(split(redis.call('HGET', rkey, 'held'))) do
    local ckey = prefix .. 'c:' .. c
    if redis.call('EXISTS', ckey) == 1 then redis.call('HINCRBY', ckey, 'reserved', '-' .. amount) end
  end
end

-- A finished reservation keeps only what a late settle or a repeat needs (state, amount, scopes, job, actual) as a
-- tombstone with a TTL.
local function finish(rkey, id, state)
  redis.call('HSET', rkey, 'state', state)
  redis.call('HDEL', rkey, 'held', 'lease_until', 'created_at')
  redis.call('ZREM', leases, id)
  redis.call('PEXPIRE', rkey, tombstone_ms)
end

local function sweep(max)
  local ids = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, max)
  for _, id in ipairs(ids) do
    local rkey = prefix .. 'r:' .. id
    if redis.call('HGET', rkey, 'state') == 'held' then
      unhold(rkey)
      finish(rkey, id, 'expired')
    else
      redis.call('ZREM', leases, id)
    end
  end
  return #ids
end
`;

/**
 * reserve. ARGV[4] id, [5] amount, [6] lease_until (epoch ms), [7] scope parts (space-separated), [8] period parts
 * (space-separated), [9] job id or '', [10] day counter TTL s, [11] month counter TTL s, [12..] the limit of each
 * scope × period (scopes outer, periods inner), '' for none.
 * Returns {'reserved'} | {'exists', state, amount} | {'refused', {{counter, limit, spent, reserved}, ...}}.
 * The check and the increment of every counter happen in this one script: no other reservation can run in between.
 */
export const RESERVE_LUA = `${PRELUDE}
sweep(${SWEEP_BATCH})
local id = ARGV[4]
local amount = ARGV[5]
local rkey = prefix .. 'r:' .. id
local state = redis.call('HGET', rkey, 'state')
if state then return {'exists', state, redis.call('HGET', rkey, 'amount')} end
local scopes = split(ARGV[7])
local periods = split(ARGV[8])
local counters = {}
local refusals = {}
local i = 0
for _, s in ipairs(scopes) do
  for _, p in ipairs(periods) do
    i = i + 1
    local c = s .. '|' .. p
    counters[#counters + 1] = c
    local limit = ARGV[11 + i]
    if limit ~= '' then
      local v = redis.call('HMGET', prefix .. 'c:' .. c, 'spent', 'reserved')
      local spent = v[1] or '0'
      local reserved = v[2] or '0'
      if tonumber(spent) + tonumber(reserved) + tonumber(amount) > tonumber(limit) then
        refusals[#refusals + 1] = {c, limit, spent, reserved}
      end
    end
  end
end
if #refusals > 0 then return {'refused', refusals} end
for _, c in ipairs(counters) do
  local ckey = prefix .. 'c:' .. c
  redis.call('HINCRBY', ckey, 'reserved', amount)
  redis.call('HSETNX', ckey, 'spent', '0')
  redis.call('EXPIRE', ckey, counter_ttl(c, ARGV[10], ARGV[11]))
end
redis.call('HSET', rkey, 'state', 'held', 'amount', amount, 'held', table.concat(counters, ' '), 'scopes', ARGV[7],
  'created_at', ARGV[2], 'lease_until', ARGV[6], 'job', ARGV[9])
redis.call('PERSIST', rkey)
redis.call('ZADD', leases, ARGV[6], id)
local scope_set = prefix .. 'scopes'
for _, s in ipairs(scopes) do redis.call('SADD', scope_set, s) end
redis.call('EXPIRE', scope_set, ARGV[11])
if ARGV[9] ~= '' then
  local jkey = prefix .. 'job:' .. ARGV[9]
  redis.call('SADD', jkey, id)
  redis.call('PEXPIRE', jkey, tombstone_ms)
end
return {'reserved'}
`;

/** extend. ARGV[4] id, [5] new lease_until. Returns {'extended'} | {'not_held', state or 'unknown'} (an expired lease is swept first). */
export const EXTEND_LUA = `${PRELUDE}
sweep(${SWEEP_BATCH})
local id = ARGV[4]
local rkey = prefix .. 'r:' .. id
local state = redis.call('HGET', rkey, 'state')
if state ~= 'held' then return {'not_held', state or 'unknown'} end
redis.call('ZADD', leases, ARGV[5], id)
redis.call('HSET', rkey, 'lease_until', ARGV[5])
return {'extended'}
`;

/**
 * settle. ARGV[4] id, [5] actual amount, [6] period parts to charge (space-separated: the periods of the usage's
 * time), [7] scope parts of a direct charge when the id is unknown (space-separated), [8] day TTL s, [9] month TTL s.
 * Returns {'settled', from_state or 'unreserved', {{counter, spent_after}, ...}} | {'already_settled', actual, {{counter,
 * spent_now}, ...}} (nothing changed; the counters are read so a redelivered bill can still raise a lost alert).
 * A held reservation's amount leaves `reserved`; `actual` is added to `spent` of every scope × period, once.
 */
export const SETTLE_LUA = `${PRELUDE}
sweep(${SWEEP_BATCH})
local id = ARGV[4]
local actual = ARGV[5]
local rkey = prefix .. 'r:' .. id
local state = redis.call('HGET', rkey, 'state')
if state == 'settled' then
  local now_spent = {}
  for _, s in ipairs(split(redis.call('HGET', rkey, 'scopes'))) do
    for _, p in ipairs(split(ARGV[6])) do
      local c = s .. '|' .. p
      now_spent[#now_spent + 1] = {c, tonumber(redis.call('HGET', prefix .. 'c:' .. c, 'spent') or '0')}
    end
  end
  return {'already_settled', redis.call('HGET', rkey, 'actual'), now_spent}
end
local scope_list
if state then
  scope_list = redis.call('HGET', rkey, 'scopes')
  if state == 'held' then unhold(rkey) end
else
  scope_list = ARGV[7]
  redis.call('HSET', rkey, 'amount', '0', 'scopes', scope_list)
end
local out = {}
local scope_set = prefix .. 'scopes'
for _, s in ipairs(split(scope_list)) do
  redis.call('SADD', scope_set, s)
  for _, p in ipairs(split(ARGV[6])) do
    local c = s .. '|' .. p
    local ckey = prefix .. 'c:' .. c
    local spent = redis.call('HINCRBY', ckey, 'spent', actual)
    redis.call('HSETNX', ckey, 'reserved', '0')
    redis.call('EXPIRE', ckey, counter_ttl(c, ARGV[8], ARGV[9]))
    out[#out + 1] = {c, spent}
  end
end
redis.call('EXPIRE', scope_set, ARGV[9])
redis.call('HSET', rkey, 'actual', actual)
finish(rkey, id, 'settled')
return {'settled', state or 'unreserved', out}
`;

/** release. ARGV[4] id. Returns {'released'} | {'not_held', state or 'unknown'} (a no-op). */
export const RELEASE_LUA = `${PRELUDE}
sweep(${SWEEP_BATCH})
local id = ARGV[4]
local rkey = prefix .. 'r:' .. id
local state = redis.call('HGET', rkey, 'state')
if state ~= 'held' then return {'not_held', state or 'unknown'} end
unhold(rkey)
finish(rkey, id, 'released')
return {'released'}
`;

/** release_job. ARGV[4] job id. Releases every held reservation of the job. Returns {released count}. */
export const RELEASE_JOB_LUA = `${PRELUDE}
sweep(${SWEEP_BATCH})
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'job:' .. ARGV[4])) do
  local rkey = prefix .. 'r:' .. id
  if redis.call('HGET', rkey, 'state') == 'held' then
    unhold(rkey)
    finish(rkey, id, 'released')
    n = n + 1
  end
end
return {n}
`;

/**
 * shorten_job. ARGV[4] job id, [5] latest lease end (epoch ms). Moves the lease of every held reservation of the job to
 * at most that time (never later than it was). Returns {count shortened}.
 */
export const SHORTEN_JOB_LUA = `${PRELUDE}
sweep(${SWEEP_BATCH})
local n = 0
local until_ms = tonumber(ARGV[5])
for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'job:' .. ARGV[4])) do
  local rkey = prefix .. 'r:' .. id
  if redis.call('HGET', rkey, 'state') == 'held' and tonumber(redis.call('HGET', rkey, 'lease_until')) > until_ms then
    redis.call('ZADD', leases, ARGV[5], id)
    redis.call('HSET', rkey, 'lease_until', ARGV[5])
    n = n + 1
  end
end
return {n}
`;

/**
 * snapshot. ARGV[4] period parts (space-separated), [5] extra scope parts (space-separated; scopes with a limit but
 * no counter yet). Sweeps every expired lease, then returns {{counter, spent or '', reserved or ''}, ...} for every
 * known scope × period, and the number of held reservations. (At most FULL_SWEEP_ROUNDS batches are swept per call.)
 */
export const SNAPSHOT_LUA = `${PRELUDE}
for _ = 1, ${FULL_SWEEP_ROUNDS} do if sweep(${SWEEP_BATCH}) < ${SWEEP_BATCH} then break end end
local seen = {}
local scopes = {}
for _, s in ipairs(redis.call('SMEMBERS', prefix .. 'scopes')) do if not seen[s] then seen[s] = true; scopes[#scopes + 1] = s end end
for _, s in ipairs(split(ARGV[5])) do if not seen[s] then seen[s] = true; scopes[#scopes + 1] = s end end
local out = {}
for _, s in ipairs(scopes) do
  for _, p in ipairs(split(ARGV[4])) do
    local c = s .. '|' .. p
    local v = redis.call('HMGET', prefix .. 'c:' .. c, 'spent', 'reserved')
    out[#out + 1] = {c, v[1] or '', v[2] or ''}
  end
end
return {out, redis.call('ZCARD', leases)}
`;

/**
 * recount_reserved. ARGV[4] period parts (space-separated) whose counters to check besides those held reservations
 * point at. Sweeps every expired lease, sums the amounts of the held reservations per counter and sets every
 * counter's `reserved` that differs to that sum (0 for none). Returns {{counter, was, now}, ...} of the fixes.
 */
export const RECOUNT_LUA = `${PRELUDE}
for _ = 1, ${FULL_SWEEP_ROUNDS} do if sweep(${SWEEP_BATCH}) < ${SWEEP_BATCH} then break end end
local want = {}
local check = {}
local order = {}
local function consider(c) if not check[c] then check[c] = true; order[#order + 1] = c end end
for _, id in ipairs(redis.call('ZRANGE', leases, 0, -1)) do
  local rkey = prefix .. 'r:' .. id
  if redis.call('HGET', rkey, 'state') == 'held' then
    local amount = tonumber(redis.call('HGET', rkey, 'amount'))
    for _, c in ipairs(split(redis.call('HGET', rkey, 'held'))) do
      want[c] = (want[c] or 0) + amount
      consider(c)
    end
  end
end
for _, s in ipairs(redis.call('SMEMBERS', prefix .. 'scopes')) do
  for _, p in ipairs(split(ARGV[4])) do consider(s .. '|' .. p) end
end
local fixes = {}
for _, c in ipairs(order) do
  local ckey = prefix .. 'c:' .. c
  local cur = redis.call('HGET', ckey, 'reserved')
  local w = want[c] or 0
  if cur and tonumber(cur) ~= w then
    redis.call('HSET', ckey, 'reserved', string.format('%d', w))
    fixes[#fixes + 1] = {c, cur, string.format('%d', w)}
  end
end
return fixes
`;

/**
 * repair_spent (compare-and-set). ARGV[4] counter, [5] the `spent` value the caller observed ('' for none), [6] the
 * ledger's value, [7] counter TTL s. Sets `spent` to the ledger's value only if it still is what the caller observed
 * (no settlement ran in between). Returns {'repaired', was} | {'changed', now}.
 */
export const REPAIR_SPENT_LUA = `${PRELUDE}
local ckey = prefix .. 'c:' .. ARGV[4]
local cur = redis.call('HGET', ckey, 'spent') or ''
if cur ~= ARGV[5] then return {'changed', cur} end
redis.call('HSET', ckey, 'spent', ARGV[6])
redis.call('HSETNX', ckey, 'reserved', '0')
redis.call('EXPIRE', ckey, ARGV[7])
local scope = string.match(ARGV[4], '^(.+)|')
if scope then redis.call('SADD', prefix .. 'scopes', scope) end
return {'repaired', cur}
`;

/** read_spent. ARGV[4] counters (space-separated). Returns the `spent` field of each, '' where absent (no sweep). */
export const READ_SPENT_LUA = `${PRELUDE}
local out = {}
for _, c in ipairs(split(ARGV[4])) do out[#out + 1] = redis.call('HGET', prefix .. 'c:' .. c, 'spent') or '' end
return out
`;
