//! The session data set the Redis and SQL benches share: 1,000 sessions whose even half holds
//! `admin:*` (so [`ASKED`] is a hit) and whose odd half does not, and the stride that visits
//! every key.

/// Sessions in the data set (`redis-benchmark -r`, pgbench's key range).
pub const SESSIONS: usize = 1_000;
/// Grants of even sessions: `admin:users` is a hit.
pub const ADMIN: [&str; 5] = [
    "read:posts",
    "write:posts",
    "list",
    "admin:*",
    "posts:*:read",
];
/// Grants of odd sessions (same sizes, no `admin:` anywhere): `admin:users` is a miss.
pub const PLAIN: [&str; 5] = [
    "read:posts",
    "write:posts",
    "list",
    "audit:*",
    "posts:*:read",
];
/// The permission every check asks for.
pub const ASKED: &str = "admin:users";

/// Session id `k`, spelled as redis-benchmark spells `__rand_int__` (12 digits), so a raw peer
/// reads the very keys psm reads.
pub fn sid(k: usize) -> String {
    format!("bench-{k:012}")
}

/// The grants session `k` holds.
pub fn grants(k: usize) -> [&'static str; 5] {
    if k.is_multiple_of(2) { ADMIN } else { PLAIN }
}

/// Whether session `k` holds [`ASKED`].
pub fn expected(k: usize) -> bool {
    k.is_multiple_of(2)
}

/// The session operation `i` touches: a stride coprime with [`SESSIONS`] visits every key.
pub fn spread(i: usize) -> usize {
    i.wrapping_mul(7919) % SESSIONS
}
