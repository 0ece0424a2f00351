//! psm-sql: the PostgreSQL, SQLite and MySQL/MariaDB session store ([`SqlStore`]) and
//! permissions provider ([`SqlPermissionsProvider`]) of psm, on sqlx (tokio, rustls).
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use psm_core::{NewSession, SessionStore};
//! use psm_sql::SqlStore;
//! use std::time::Duration;
//!
//! let store = SqlStore::connect("sqlite::memory:?default_ttl=30m").await?;
//! store
//!     .store_session(
//!         NewSession::new("session_123", "user_456")
//!             .permissions(["read:posts", "admin:*"])
//!             .ttl(Duration::from_secs(3600)),
//!     )
//!     .await?;
//! assert!(store.check_permission("session_123", "admin:users:delete").await?);
//! assert!(!store.check_permission("session_123", "write:posts").await?);
//! assert_eq!(store.list_sessions("user_456").await?, vec!["session_123"]);
//! store.close().await?;
//! # Ok::<(), psm_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! # URLs
//!
//! | URL | database |
//! |---|---|
//! | `postgres://user:pw@host:5432/db`, `postgresql://...` | PostgreSQL (feature `postgres`) |
//! | `sqlite://relative/file.db`, `sqlite:///abs/file.db` | SQLite file, created (mode 0600) if missing unless `create=false`, WAL journal (feature `sqlite`, default) |
//! | `sqlite::memory:` | SQLite in memory, one private database per store |
//! | `mysql://user:pw@host:3306/db`, `mariadb://...` | MySQL 8 / MariaDB 10.5+ (feature `mysql`) |
//!
//! Options are query parameters; an unknown option is an error, never ignored.
//!
//! | option | default | meaning |
//! |---|---|---|
//! | `table_prefix` | `psm_` (`authz_` for the provider) | prefix of every table and index name; `[A-Za-z_][A-Za-z0-9_]{0,40}` |
//! | `migrate` | `true` | apply the embedded migrations on connect |
//! | `create` | `true` | SQLite: create a missing database file (0600); with `false` a missing file is an error naming it. A missing directory is always an error naming it |
//! | `default_ttl` | `1h` | TTL of sessions stored without one (`250ms`, `5s`, `2m`, `1h`, `1d`); `0` = no expiry |
//! | `max_permissions` | `10000` | most permissions per session (per fetch for the provider) |
//! | `cleanup_batch` | `1000` | rows deleted per statement by `cleanup_expired_sessions` |
//! | `max_connections` | `10` | size of the general pool (writes, cleanup, health) |
//! | `min_connections` | `0` | pooled connections kept open when idle |
//! | `acquire_timeout` | `5s` | longest wait for a connection; then `Error::Timeout` |
//! | `test_before_acquire` | `false` | ping pooled connections before use (costs a round trip per operation) |
//! | `statement_timeout` | none | per-statement limit: PostgreSQL `statement_timeout`, MariaDB `max_statement_time` / MySQL `max_execution_time`, SQLite busy timeout (else 5 s); also a client-side bound one second longer, so a server that stops answering cannot hold a call |
//! | `check_connections` | `8` (`2` for SQLite) | dedicated read connections (see below); `0` reads through the pool |
//! | `idle_timeout` | `10m` | close pooled connections idle this long; `0` = never |
//!
//! Driver options pass through unchanged: PostgreSQL `sslmode`, `sslrootcert`, `sslcert`,
//! `sslkey`, `application_name`, `options`, `statement-cache-capacity`, `host`, `port`, ...;
//! MySQL `ssl-mode`, `ssl-ca`, `ssl-cert`, `ssl-key`, `socket`, `timezone`,
//! `statement-cache-capacity`; SQLite `mode`, `cache`, `immutable`, `vfs`. The typed
//! equivalent is [`SqlConfig`] with [`SqlStore::connect_with`].
//!
//! # Storage
//!
//! One row per session in `{prefix}sessions`: `session_id` (primary key), `user_id` (indexed),
//! `permissions` (the grants separated by single spaces — the grammar has no spaces), `created_at`,
//! `updated_at`, `expires_at` (BIGINT milliseconds, NULL = never; indexed) and `metadata` (JSON
//! text). A check is one primary-key `SELECT permissions ...` plus matching in Rust with psm's
//! grammar; the per-user index is the `user_id` column, atomic with the session by construction.
//! Every statement filters expired rows (`expires_at IS NULL OR expires_at > ?`, now bound in
//! milliseconds), so expired sessions are invisible whether or not cleanup ran; cleanup deletes
//! in bounded batches. Expiry instants come from the clients' clocks (keep them synchronised
//! when several hosts share a database). All values are bound parameters; table names come only from the validated
//! prefix. Ids compare byte for byte everywhere: PostgreSQL columns use the `"C"` collation,
//! MySQL ids are `VARBINARY(255)` (case-sensitive, no PAD SPACE, inside InnoDB's key limit),
//! text is `utf8mb4`.
//!
//! Migrations are embedded and versioned, recorded in `{prefix}migrations`, and serialised
//! between processes that start at once: `pg_advisory_lock` on PostgreSQL, `GET_LOCK` on MySQL,
//! `BEGIN IMMEDIATE` on SQLite. Running them again changes nothing.
//!
//! # Connections
//!
//! Reads (`check_permission`, `check_permissions`, `get_session`, `list_sessions`, counts and
//! provider fetches) run on `check_connections` dedicated connections ("lanes"): a semaphore and
//! a stack of idle connections, handed back synchronously after a successful query. sqlx's pool
//! pings every connection when it is returned (a second round trip, in a spawned task), which
//! halves single-task throughput; the lanes skip that and instead drop a connection whenever a
//! query on it fails in a way that could leave it unusable, or its caller was cancelled
//! mid-query. A read that fails on a reused connection because the server went away (a
//! restart) is retried once on a new connection. Writes go through the sqlx pool
//! ([`SqlStore::pool`] exposes it for your own queries). Connections in use at most:
//! `max_connections + check_connections`.
//!
//! # Errors
//!
//! sqlx errors map onto psm's typed [`psm_core::Error`]: no connection within `acquire_timeout`
//! and statements cancelled by `statement_timeout` (or SQLite's busy timeout) are `Timeout`;
//! I/O, TLS, protocol errors, a closed pool and server shutdown are `Connection`; undecodable
//! rows are `Corrupt`; everything else is `Backend` with the driver's error as source.
//!
//! # Permissions provider
//!
//! [`SqlPermissionsProvider`] implements [`psm_core::PermissionsProvider`] over the
//! `authz_permissions(id, username, permission)` table of the Python auth-middleware (indexed
//! on `username`, unique on `(username, permission)`) plus `authz_roles`, `authz_user_roles`
//! and `authz_role_permissions`. A fetch is one query (direct grants `UNION` role grants);
//! grants are checked against psm's grammar and can be expanded through a
//! [`psm_core::Hierarchy`].
//!
//! ```no_run
//! # async fn demo() -> psm_core::Result<()> {
//! use psm_core::{PermissionsProvider, Principal};
//! use psm_sql::SqlPermissionsProvider;
//!
//! let provider = SqlPermissionsProvider::connect("postgres://app@db/app").await?;
//! provider.grant_permission("john.doe", "read:posts").await?;
//! provider.grant_role_permission("editor", "write:posts").await?;
//! provider.assign_role("john.doe", "editor").await?;
//! let grants = provider
//!     .fetch_permissions(&Principal::new("sub-1").with_username("john.doe"))
//!     .await?;
//! assert_eq!(grants, vec!["read:posts", "write:posts"]);
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! `sqlite` (default), `postgres`, `mysql`: one driver each; at least one is required.
//! `acl`: the ACL of psm-acl in SQL tables ([`acl::SqlAclStore`], [`acl::SqlAcl`]).
//! `rebac`: psm-rebac's tuple store in SQL ([`rebac::SqlTupleStore`]), lookups as composable
//! SQL subqueries ([`rebac::SqlFilter`]), one-statement checks and the change log.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(any(feature = "postgres", feature = "sqlite", feature = "mysql")))]
compile_error!("psm-sql needs at least one of the features `postgres`, `sqlite`, `mysql`");

#[cfg(feature = "acl")]
pub mod acl;
#[cfg(feature = "postgres")]
mod bus;
#[cfg(feature = "catalog")]
pub mod catalog;
mod config;
mod conn;
mod conn_options;
mod dialect;
mod error;
mod exec;
mod lanes;
mod migrate;
mod open;
mod ops;
mod provider;
mod provider_config;
mod provider_schema;
#[cfg(feature = "rebac")]
pub mod rebac;
mod rows;
mod schema;
#[cfg(feature = "sqlite")]
mod sqlite_file;
mod store;

#[cfg(feature = "postgres")]
pub use bus::{PgBus, PgBusConfig};
pub use config::{
    DEFAULT_TABLE_PREFIX, MAX_PREFIX_LEN, PoolConfig, SqlConfig, validate_table_prefix,
};
pub use dialect::Dialect;
pub use provider::SqlPermissionsProvider;
pub use provider_config::{
    DEFAULT_MAX_FETCH, DEFAULT_PROVIDER_PREFIX, MAX_ROLE_LEN, MAX_USERNAME_LEN, ProviderConfig,
};
pub use store::{SqlPool, SqlStore};

/// The sqlx this crate is built on, for your own queries on [`SqlStore::pool`].
pub use sqlx;
