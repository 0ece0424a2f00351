//! The Lua scripts: loaded once per server, called by EVALSHA (the redis crate's `Script`
//! reloads them on NOSCRIPT, for example after a restart or `SCRIPT FLUSH`).
//!
//! Session scripts take a `with_index` flag. On a single server it is `1` and the script also
//! updates the user index in the same atomic step (the index key of an old owner is derived from
//! the prefix inside the script). On a cluster it is `0`: the script touches only the session key
//! (one slot) and the index is maintained by the `INDEX_*` scripts (see `cluster.rs`).

use std::sync::LazyLock;

use redis::Script;

/// Helpers shared by every script.
const PRELUDE: &str = r#"
local function esc(s)
  return (string.gsub(s, '[%%{}]', function(c) return string.format('%%%02X', string.byte(c)) end))
end
local function index_key(prefix, user) return prefix .. 'u:{' .. esc(user) .. '}' end
local function session_key(prefix, sid) return prefix .. 's:{' .. sid .. '}' end
local function expiry_of(p) return string.match(p, '^[^ ]*') end
local function live(e, now) return e == '-' or tonumber(e) > now end
local function touch(k)
  local top = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')
  if #top == 0 then return end
  if top[2] == 'inf' then redis.call('PERSIST', k)
  else redis.call('PEXPIREAT', k, string.format('%.0f', tonumber(top[2]))) end
end
"#;

/// KEYS: session, [new index]. ARGV: prefix, sid, user, p, now, metadata, score ('' = none),
/// pexpireat, with_index. Returns the previous owner (or false).
const STORE: &str = r#"
local old = redis.call('HGET', KEYS[1], 'u')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'u', ARGV[3], 'p', ARGV[4], 'c', ARGV[5], 't', ARGV[5], 'm', ARGV[6])
if ARGV[7] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[8]) end
if ARGV[9] == '1' then
  if old and old ~= ARGV[3] then
    local ok = index_key(ARGV[1], old)
    redis.call('ZREM', ok, ARGV[2])
    touch(ok)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
  local score = ARGV[7]
  if score == '' then score = '+inf' end
  redis.call('ZADD', KEYS[2], score, ARGV[2])
  touch(KEYS[2])
end
return old
"#;

/// KEYS: session. ARGV: prefix, sid, grants tail, now, score ('' = keep the TTL), pexpireat,
/// with_index, expected owner ('' = any). Returns {status, owner}: 0 no live session,
/// 1 updated, 2 owned by someone else than expected (nothing written).
const UPDATE: &str = r#"
local rec = redis.call('HMGET', KEYS[1], 'u', 'p')
local u, p = rec[1], rec[2]
if not u or not p then return {0, ''} end
local e = expiry_of(p)
if not live(e, tonumber(ARGV[4])) then return {0, ''} end
if ARGV[8] ~= '' and u ~= ARGV[8] then return {2, u} end
if ARGV[5] == '' then
  redis.call('HSET', KEYS[1], 'p', e .. ARGV[3], 't', ARGV[4])
  return {1, u}
end
redis.call('HSET', KEYS[1], 'p', ARGV[5] .. ARGV[3], 't', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[6])
if ARGV[7] == '1' then
  local ik = index_key(ARGV[1], u)
  redis.call('ZADD', ik, ARGV[5], ARGV[2])
  touch(ik)
end
return {1, u}
"#;

/// KEYS: session. ARGV: prefix, sid, now, score, pexpireat, with_index, expected owner.
/// Returns {status, owner} as `UPDATE` does.
const EXTEND: &str = r#"
local rec = redis.call('HMGET', KEYS[1], 'u', 'p')
local u, p = rec[1], rec[2]
if not u or not p then return {0, ''} end
local e = expiry_of(p)
if not live(e, tonumber(ARGV[3])) then return {0, ''} end
if ARGV[7] ~= '' and u ~= ARGV[7] then return {2, u} end
redis.call('HSET', KEYS[1], 'p', ARGV[4] .. string.sub(p, #e + 1))
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
if ARGV[6] == '1' then
  local ik = index_key(ARGV[1], u)
  redis.call('ZADD', ik, ARGV[4], ARGV[2])
  touch(ik)
end
return {1, u}
"#;

/// KEYS: session. ARGV: prefix, sid, now, with_index. Deletes the session; returns
/// {status, owner}: 1 when a live session was removed, 0 otherwise.
const INVALIDATE: &str = r#"
local rec = redis.call('HMGET', KEYS[1], 'u', 'p')
local u, p = rec[1], rec[2]
if not u then return {0, ''} end
redis.call('DEL', KEYS[1])
if ARGV[4] == '1' then
  local ik = index_key(ARGV[1], u)
  redis.call('ZREM', ik, ARGV[2])
  touch(ik)
end
if not p or not live(expiry_of(p), tonumber(ARGV[3])) then return {0, u} end
return {1, u}
"#;

/// Single server. KEYS: index. ARGV: prefix, user, now. Drops expired, dead and foreign entries
/// (each entry is checked against its session record) and returns {removed, {live ids}}.
const LIST: &str = r#"
local now = tonumber(ARGV[3])
local removed = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local keep = {}
for _, sid in ipairs(ids) do
  local rec = redis.call('HMGET', session_key(ARGV[1], sid), 'u', 'p')
  if rec[1] == ARGV[2] and rec[2] and live(expiry_of(rec[2]), now) then
    keep[#keep + 1] = sid
  else
    redis.call('ZREM', KEYS[1], sid)
    removed = removed + 1
  end
end
touch(KEYS[1])
return {removed, keep}
"#;

/// Cluster. KEYS: index. ARGV: sid, score, now. Adds the entry or raises its score (never
/// lowers it), drops expired entries and sets the key's expiry to the highest score.
const INDEX_RAISE: &str = r#"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
touch(KEYS[1])
return 1
"#;

/// Cluster. KEYS: index. ARGV: now. Drops expired entries; returns {removed, {candidate ids}}.
const INDEX_CANDIDATES: &str = r#"
local removed = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
touch(KEYS[1])
return {removed, ids}
"#;

/// Roles provider. KEYS: user permissions set, user roles set. ARGV: role key prefix.
/// Returns the union of the user's set and the sets of each of the user's roles.
const UNION_ROLES: &str = r#"
local seen, out = {}, {}
local function add(members)
  for _, m in ipairs(members) do
    if not seen[m] then seen[m] = true; out[#out + 1] = m end
  end
end
add(redis.call('SMEMBERS', KEYS[1]))
for _, role in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  add(redis.call('SMEMBERS', ARGV[1] .. role))
end
return out
"#;

fn with_prelude(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

pub(crate) static STORE_SCRIPT: LazyLock<Script> = LazyLock::new(|| with_prelude(STORE));
pub(crate) static UPDATE_SCRIPT: LazyLock<Script> = LazyLock::new(|| with_prelude(UPDATE));
pub(crate) static EXTEND_SCRIPT: LazyLock<Script> = LazyLock::new(|| with_prelude(EXTEND));
pub(crate) static INVALIDATE_SCRIPT: LazyLock<Script> = LazyLock::new(|| with_prelude(INVALIDATE));
pub(crate) static LIST_SCRIPT: LazyLock<Script> = LazyLock::new(|| with_prelude(LIST));
pub(crate) static INDEX_RAISE_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| with_prelude(INDEX_RAISE));
pub(crate) static INDEX_CANDIDATES_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| with_prelude(INDEX_CANDIDATES));
pub(crate) static UNION_ROLES_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(UNION_ROLES));
