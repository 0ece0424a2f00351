//! psm-redis: a Redis and Redis Cluster [`SessionStore`](psm_core::SessionStore)
//! ([`RedisStore`]) and the Redis roles [`PermissionsProvider`](psm_core::PermissionsProvider)
//! ([`RedisPermissionsProvider`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use psm_core::{NewSession, SessionStore, StoreUrl};
//! use psm_redis::RedisStore;
//! # async fn demo() -> psm_core::Result<()> {
//! let store = RedisStore::from_url(StoreUrl::parse(
//!     "redis://127.0.0.1:6379/0?key_prefix=app:&timeout=500ms",
//! )?)
//! .await?;
//! store
//!     .store_session(
//!         NewSession::new("session_123", "user_456")
//!             .permissions(["read:posts", "admin:*"])
//!             .ttl(Duration::from_secs(3600)),
//!     )
//!     .await?;
//! assert!(store.check_permission("session_123", "admin:users:delete").await?);
//!
//! // the same on a cluster
//! let cluster = RedisStore::from_url(StoreUrl::parse(
//!     "redis+cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
//! )?)
//! .await?;
//! # Ok(()) }
//! ```
//!
//! # URLs and options
//!
//! `redis://[user:password@]host:port[/db]`, `rediss://...` (TLS, cargo feature `tls-rustls`),
//! `redis+cluster://[user:password@]h1:p1,h2:p2,...` and `rediss+cluster://...`. Options are
//! query parameters; an unknown option is an error.
//!
//! | option | default | meaning |
//! |---|---|---|
//! | `key_prefix` | `psm:` (provider: none) | prefix of every key; stores with different prefixes never see each other |
//! | `default_ttl` | `1h` | TTL of sessions stored without one; `0` = never expire |
//! | `max_permissions` | `10000` | most permissions per session |
//! | `connections` | `2` | multiplexed connections the hot path uses round-robin (1–256) |
//! | `max_connections` | `8` | size of the deadpool-redis pool used for SCAN-based maintenance |
//! | `connect_timeout` | `5s` | limit on opening a connection |
//! | `timeout` | `2s` | limit on every call, reconnect included |
//! | `tls_ca_file` | none | `rediss://` only: PEM file of the CA(s) to trust instead of the built-in web PKI roots (a private CA, as Redis servers usually have); the server certificate must name the URL's host |
//!
//! Durations are written `250ms`, `5s`, `2m`, `1h`. [`RedisConfig`] is the typed equivalent.
//!
//! # Design
//!
//! **Keys.** A session is a hash at `P s:{<session id>}` with fields `u` (user), `p` (expiry ms
//! or `-`, then the grants separated by spaces), `c`, `t` (created/updated ms) and `m`
//! (metadata JSON). Each user has an index, a sorted set at `P u:{<user id>}` (with `%`, `{`,
//! `}` percent-escaped) of session ids scored by expiry ms (`+inf` for none); the index key
//! itself expires with its last session. The braces are cluster hash tags. `KEYS` is never used;
//! counting and cleanup `SCAN` (every master on a cluster) with the prefix glob-escaped.
//!
//! **TTL.** Native: the session key gets `PEXPIREAT` one millisecond before its expiry instant,
//! so Redis drops it exactly when psm considers it expired; the expiry is also in the record, so
//! the client double-checks it. `update_permissions` without a TTL rewrites only fields of the
//! hash, which keeps the key's TTL (and the recorded expiry) as it was.
//!
//! **Atomicity.** Writes are Lua scripts, loaded once and called by `EVALSHA` (reloaded on
//! `NOSCRIPT`). On a single server one script changes the session and the user index together
//! (for a session moved to another user, both indexes). `list_sessions` runs one script that
//! drops expired entries (`ZREMRANGEBYSCORE`) and checks every remaining entry against its
//! session record, repairing the index if a key vanished behind psm's back (eviction, `DEL`).
//!
//! **Cluster.** A session key hashes by its session id (so a check, knowing only that, goes to
//! one node) and an index by its user id, so the two cannot share a slot. Each is changed
//! atomically on its own, in an order that keeps this invariant: *every live session of a user
//! is in that user's index with a score at least its expiry*. Writers raise the index entry
//! (`ZADD GT`) before and after writing the session; removals (`ZREM`) re-check the session and
//! put the entry back if a concurrent write made it live again; expiry changes are conditional
//! on the owner they read. The guarantee: session changes are atomic; `list_sessions` verifies
//! every entry, so it never returns a dead or foreign session, and it never misses a live
//! session whose write returned. A write that failed midway (or is in flight) may leave an extra
//! index entry, dropped by the next `list_sessions` or `cleanup_expired_sessions`. Writes take
//! 3–4 round trips on a cluster (1 on a single server); checks and reads take 1 everywhere.
//!
//! **Checks: one round trip, evaluated client-side.** A check sends one `HGET <session> p` and
//! matches the grants with [`PermissionSet`](psm_core::PermissionSet) in Rust: the full grammar
//! (patterns, `>`, pattern coverage) and the expiry. The choice was measured
//! (`benches/benches/redis.rs`, 2-core machine shared with other builds, so treat figures as
//! ±30%): through one multiplexed connection at 64 tasks, `HGET` plus the Rust match ran
//! 94k checks/s while a *minimal* server-side Lua check (`EVALSHA` doing `HGET` and a substring
//! search, no grammar at all) ran 51k/s (0.54×); at 1 task they were even (12.7k vs 13.1k/s).
//! A real grammar in Lua would only cost the single-threaded server more, while the Rust match
//! costs well under a microsecond of client CPU, and one grammar implementation stays the
//! only one.
//!
//! **Connections.** The hot path holds `connections` multiplexed connections (cluster
//! connections on a cluster) and picks one round-robin, so nothing is checked out per call (a
//! deadpool checkout per operation costs more than Redis itself). A connection that fails (I/O
//! error, dropped, timed out) is replaced on the next call; calls never wait longer than
//! `timeout` and fail with [`Error::Connection`](psm_core::Error::Connection) or
//! [`Error::Timeout`](psm_core::Error::Timeout). The deadpool-redis pool (`max_connections`)
//! serves SCAN pages, so maintenance never queues behind or ahead of checks.
//!
//! **Batching.** On a single server, checks and stores that meet on one connection while a
//! command is in flight there are queued and go out together as one pipeline, written and read
//! by one flusher task that hands each caller its own reply (a server error fails that call
//! alone); a call on an idle connection goes straight out. This is what `redis-benchmark -P`
//! does, and it halves the client's CPU per check at 64 tasks (one write, one read and one wake
//! of the driver per batch instead of per call). A caller that gives up never cancels the
//! others' commands; a command is never sent twice (a store that met `NOSCRIPT`, which ran
//! nothing, is the one exception: it is sent again after the script is loaded). Figures:
//! `docs/src/performance.md`, section Redis. A cluster connection routes each command by its
//! own slot, so on a cluster calls are not batched.
//!
//! Requires Redis 6.2 or newer (`ZADD GT`, `SCAN ... TYPE`, `PEXPIREAT` semantics).
//!
//! # Roles provider
//!
//! [`RedisPermissionsProvider`] reads `user_permissions:<user>`, `user_roles:<user>` and
//! `role_permissions:<role>` sets (prefix configurable, default none) and returns the union in
//! one round trip (a Lua script) on a single server, or on a cluster when the prefix holds a
//! hash tag such as `{authz}:`; otherwise two round trips. Grant and revoke helpers validate
//! their input; a stored permission outside the grammar fails the fetch (fail closed).
//!
//! # Observability
//!
//! Every store call opens a `tracing` span at debug level (`redis.check_permission`, ...);
//! `metrics` counters: `psm_redis_connects_total`, `psm_redis_reconnects_total`,
//! `psm_redis_timeouts_total`, `psm_redis_errors_total`, `psm_redis_cleaned_total`.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod batch;
mod bus;
mod cluster;
mod config;
mod conn;
mod keys;
mod provider;
mod record;
mod scan;
mod scripts;
mod sessions;
mod store;
mod tls;

pub use bus::{RedisBus, RedisBusConfig};
pub use config::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_CONNECTIONS, DEFAULT_KEY_PREFIX, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT, MAX_CONNECTIONS_LIMIT, MAX_KEY_PREFIX_LEN, RedisConfig,
};
pub use provider::RedisPermissionsProvider;
pub use store::RedisStore;
