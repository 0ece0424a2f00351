//! Assignments of a permission catalog (psm-catalog) in SQL tables (feature `catalog`):
//! [`SqlAssignments`] is the [`psm_catalog::AssignmentStore`] of PostgreSQL, SQLite and
//! MySQL/MariaDB.
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use psm_catalog::{Assignments, Catalog, Permission};
//! use psm_sql::catalog::SqlAssignments;
//!
//! let catalog = Catalog::new(Permission::root().register([
//!     Permission::new("test").register([Permission::new("sub1")]),
//! ]))?;
//! let gate = Assignments::new(catalog, SqlAssignments::connect("sqlite::memory:").await?);
//! gate.assign_group("staff", "test>").await?;
//! gate.add_member("staff", "alice").await?;
//! assert!(gate.has_permission("alice", "test.sub1").await?);
//! assert!(gate.assign_user("bob", "nope").await.is_err()); // undeclared: no row written
//! # Ok::<(), psm_catalog::Error>(())
//! # }).unwrap();
//! ```
//!
//! Tables (prefix `psm_catalog_` by default, option `table_prefix`): `user_grants (user_id,
//! permission)`, `group_grants (group_id, permission)` and `members (group_id, user_id)`, each
//! keyed by both columns, with an index on `members (user_id)`. Ids and permissions are stored
//! as bytes (exact, case-sensitive comparison). A user's effective grants are one statement (a
//! `UNION` of the direct grants and the grants of its groups). Migrations are embedded and
//! versioned in `{prefix}migrations`, like the other psm-sql tables; every value is a bound
//! parameter.

mod schema;
mod store;

pub use store::{DEFAULT_CATALOG_PREFIX, SqlAssignments};
