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
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod blocking;
mod manager;
pub mod registry;
#[cfg(feature = "rebac")]
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
pub use psm_acl as acl;
/// axum layers and extractors.
#[cfg(feature = "axum")]
pub use psm_axum as axum;
/// Caches over stores and providers, with cross-instance invalidation.
#[cfg(feature = "cache")]
pub use psm_cache as cache;
/// The durable file backend and the JSON permissions-file provider.
#[cfg(feature = "file")]
pub use psm_file as file;
/// The in-memory backend.
#[cfg(feature = "memory")]
pub use psm_memory as memory;
/// The relationship (Zanzibar) engine.
#[cfg(feature = "rebac")]
pub use psm_rebac as rebac;
/// The Redis backend and the Redis roles provider.
#[cfg(feature = "redis")]
pub use psm_redis as redis;
/// The HTTP JSON API as an axum Router.
#[cfg(feature = "server")]
pub use psm_server as server;
/// The SQL backends and the SQL permissions provider.
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
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
}
