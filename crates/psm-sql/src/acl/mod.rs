//! The ACL of psm-acl in SQL tables (feature `acl`): [`SqlAclStore`] loads and saves a whole
//! [`psm_acl::Acl`]; [`SqlAcl`] keeps one in memory and writes every change through.
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use psm_sql::acl::{SqlAcl, SqlAclStore};
//!
//! let store = SqlAclStore::connect("sqlite::memory:").await?;
//! let mut acl = SqlAcl::load(store.clone()).await?;
//! acl.grant("viewer", "blog", "read").await?;
//! acl.add_parent("editor", "viewer").await?;
//! assert!(acl.check("editor", "blog", "read"));        // in memory, no I/O
//!
//! let again = store.load().await?;                      // what the tables hold
//! assert!(again.check("editor", "blog", "read"));
//!
//! let mut other = psm_acl::Acl::new();
//! other.grant("root", "admin", "users:*")?;
//! store.save(&other).await?;                            // replaces every row
//! assert!(!store.load().await?.has_role("viewer"));
//! # Ok::<(), psm_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! Tables (prefix `psm_acl_` by default, option `table_prefix`): `roles (name)`,
//! `resources (name)`, `permissions (resource, permission)`,
//! `grants (role, resource, permission)`, `parents (role, parent)` — the five row lists of
//! [`psm_acl::AclData`] — plus `meta (id, version)`, whose one row every write bumps and locks.
//! Names are stored as bytes, so any string round-trips exactly; role and resource names are at
//! most [`MAX_ACL_NAME_LEN`] bytes. Migrations are embedded and versioned in
//! `{prefix}migrations`, like the other psm-sql tables. Every value is a bound parameter.

mod config;
mod schema;
mod store;
mod write_through;

pub use config::{AclStoreConfig, DEFAULT_ACL_PREFIX, MAX_ACL_NAME_LEN};
pub use store::SqlAclStore;
pub use write_through::SqlAcl;
