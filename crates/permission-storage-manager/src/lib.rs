//! permission-storage-manager (psm): per-session permission sets with TTL on memory, files,
//! Redis or SQL, answering "may they?" in nanoseconds in-process and in one round trip over the
//! network. Pick backends with cargo features; every backend speaks one permission grammar.
//!
//! ```
//! use permission_storage_manager as psm;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let manager = psm::PermissionStorageManager::connect("memory://").await?;
//! manager.store_permissions("s1", "alice", ["posts:*", "admin>"], None).await?;
//! assert!(manager.check_permission("s1", "posts:42").await?);
//! assert!(manager.check_permission("s1", "admin.users.delete").await?);
//! # Ok::<(), psm::Error>(()) }).unwrap();
//! ```
//!
//! # Cargo features
//!
//! Nothing you did not ask for is compiled: TLS, JWT, CEL and caches each sit behind a feature.
//! With `default-features = false` you start from the core alone.
//!
//! | feature | default | brings | adds |
//! |---|---|---|---|
//! | `memory` | yes | `psm-memory` | `memory://` store |
//! | `file` | yes | `psm-file` | `file://` store, JSON permissions-file provider |
//! | `caveats` | yes | `cel` (with `rebac`) | CEL caveats and conditions in `rebac` schemas; without it a schema with a caveat is a typed error when parsed, never an allow |
//! | `redis` | | `psm-redis` (redis, deadpool-redis) | `redis://`, `redis+cluster://` store, Redis roles provider |
//! | `postgres` | | `psm-sql` (sqlx) | `postgres://` store, SQL permissions provider |
//! | `sqlite` | | `psm-sql` (sqlx, bundled SQLite) | `sqlite://` store; no TLS stack |
//! | `mysql` | | `psm-sql` (sqlx) | `mysql://`, `mariadb://` store |
//! | `acl` | | `psm-acl` | role / resource / permission ACL (SQL tables with a SQL feature) |
//! | `rebac` | | `psm-rebac` | Zanzibar-style relationships (SQL tuple store with a SQL feature) |
//! | `cache` | | `psm-cache` (moka) | cached stores and providers, cross-instance invalidation; with `axum`, cached permission sources |
//! | `axum` | | `psm-axum` (axum, tower) | `require_permissions` layers, extractors, session authentication by header or cookie |
//! | `server` | | `psm-server` (axum, hyper; implies `rebac`) | psm's HTTP JSON API as an axum `Router` |
//! | `jwt` | | jsonwebtoken (implies `axum`) | `JwtAuthenticator`: `Authorization: Bearer` with HS256, RS256, ES256 |
//! | `tls-rustls` | | rustls, ring | `rediss://` with `redis`; TLS to PostgreSQL and MySQL with their features |
//! | `full` | | all of the above | |
//!
//! `psm-axum` has one more of its own, `http` (`HttpProvider`, reqwest).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "acl")]
#[cfg_attr(docsrs, doc(cfg(feature = "acl")))]
pub mod acl_stores;
pub mod blocking;
mod manager;
pub mod registry;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server_stores;
#[cfg(feature = "rebac")]
#[cfg_attr(docsrs, doc(cfg(feature = "rebac")))]
pub mod tuple_stores;

pub use manager::{ManagerBuilder, PermissionStorageManager, URL_ENV};
pub use psm_core::permission;
pub use psm_core::{
    Capabilities, Error, Expiry, Field, Health, Hierarchy, Limits, NewSession, PermissionError,
    PermissionSet, PermissionsProvider, Principal, Result, Rule, Session, SessionInfo,
    SessionStore, StoreStats, StoreUrl, Timestamp, generate_session_id, validate,
};

/// The core crate, for backend authors.
pub use psm_core as core;

/// The role / resource / permission ACL engine.
#[cfg(feature = "acl")]
#[cfg_attr(docsrs, doc(cfg(feature = "acl")))]
pub use psm_acl as acl;
/// axum layers and extractors.
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use psm_axum as axum;
/// Caches over stores and providers, with cross-instance invalidation.
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub use psm_cache as cache;
/// Declared permission trees and user/group assignments (django-permagate's model).
///
/// ```
/// use permission_storage_manager::catalog::{Assignments, Catalog, MemoryAssignments, Permission};
/// // permagate's README tree: Permission("test", "Optional Name", "Optional Description").register([...])
/// let root = Permission::root().register([
///     Permission::new("test").name("Optional Name").description("Optional Description").register([
///         Permission::new("sub1").register([Permission::new("sub-sub1")]),
///         Permission::new("sub2"),
///     ]),
///     Permission::new("test1"),
/// ]);
/// let catalog = Catalog::new(root)?;
/// assert_eq!(
///     catalog.permission_list(),
///     ["*", "test", "test>", "test.sub1", "test.sub1>", "test.sub1.sub-sub1", "test.sub2", "test1"]
/// );
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let gate = Assignments::new(catalog, MemoryAssignments::new());
/// gate.assign_user("test", "test>").await?;
/// gate.assign_group("test", "test.sub1>").await?;
/// gate.add_member("test", "test2").await?;
/// assert!(gate.has_permission("test", "test.sub1").await?);  // direct assignment
/// assert!(gate.has_permission("test2", "test.sub1").await?); // through the group
/// assert!(gate.assign_user("test", "test.sub2>").await.is_err()); // not in permission_list
/// # Ok::<(), permission_storage_manager::catalog::Error>(()) }).unwrap();
/// # Ok::<(), permission_storage_manager::catalog::Error>(())
/// ```
#[cfg(feature = "catalog")]
pub use psm_catalog as catalog;
/// The durable file backend and the JSON permissions-file provider.
#[cfg(feature = "file")]
#[cfg_attr(docsrs, doc(cfg(feature = "file")))]
pub use psm_file as file;
/// The in-memory backend.
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub use psm_memory as memory;
/// The relationship (Zanzibar) engine.
#[cfg(feature = "rebac")]
#[cfg_attr(docsrs, doc(cfg(feature = "rebac")))]
pub use psm_rebac as rebac;
/// The Redis backend and the Redis roles provider.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use psm_redis as redis;
/// The HTTP JSON API as an axum Router.
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub use psm_server as server;
/// The SQL backends and the SQL permissions provider.
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql")))
)]
pub use psm_sql as sql;

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The guide's code blocks (docs/src), compiled and run as doctests.
#[cfg(doctest)]
pub mod guide_doctests {
    #[doc = include_str!("../../../docs/src/getting-started.md")]
    pub struct GettingStarted;
    #[doc = include_str!("../../../docs/src/grammar.md")]
    pub struct Grammar;
    #[doc = include_str!("../../../docs/src/sessions.md")]
    pub struct Sessions;
    #[doc = include_str!("../../../docs/src/third-party-backend.md")]
    pub struct ThirdPartyBackend;
    #[doc = include_str!("../../../docs/src/backends.md")]
    pub struct Backends;
    #[doc = include_str!("../../../docs/src/acl.md")]
    pub struct Acl;
    #[doc = include_str!("../../../docs/src/relationships.md")]
    pub struct Relationships;
    #[doc = include_str!("../../../docs/src/axum.md")]
    pub struct Axum;
    #[doc = include_str!("../../../docs/src/server.md")]
    pub struct Server;
    #[doc = include_str!("../../../docs/src/deployment.md")]
    pub struct Deployment;
    #[cfg(feature = "catalog")]
    #[doc = include_str!("../../../docs/src/coming-from-python.md")]
    pub struct ComingFromPython;
}
