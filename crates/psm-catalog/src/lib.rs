//! psm-catalog: an application's permissions declared as a tree, as django-permagate declares
//! them, and assignments of those permissions to users and groups that refuse anything
//! undeclared.
//!
//! * [`Catalog`] — the validated tree: [`permission_list`](Catalog::permission_list) (what may
//!   be assigned, in permagate's order and form), [`contains`](Catalog::contains),
//!   [`describe`](Catalog::describe), [`validate_grant`](Catalog::validate_grant). Declared in
//!   code with [`Permission`] or read from JSON, YAML (feature `yaml`) or TOML (feature `toml`).
//! * [`Assignments`] — user grants, group grants and group membership over an
//!   [`AssignmentStore`] ([`MemoryAssignments`] here; `psm_sql::catalog::SqlAssignments` for
//!   PostgreSQL, SQLite and MariaDB), with `has_permission(user, permission)` through direct and
//!   group grants and psm's one grammar; a [`PermissionsProvider`](psm_core::PermissionsProvider).
//!
//! ```
//! use psm_catalog::{Catalog, Permission};
//! let root = Permission::root().register([
//!     Permission::new("test").name("Optional Name").description("Optional Description").register([
//!         Permission::new("sub1").register([Permission::new("sub-sub1")]),
//!         Permission::new("sub2"),
//!     ]),
//!     Permission::new("test1"),
//! ]);
//! let catalog = Catalog::new(root)?;
//! assert_eq!(
//!     catalog.permission_list(),
//!     ["*", "test", "test>", "test.sub1", "test.sub1>", "test.sub1.sub-sub1", "test.sub2", "test1"]
//! );
//! # Ok::<(), psm_catalog::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod assignments;
mod catalog;
mod error;
mod load;
mod memory;
mod node;
mod store;

#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use assignments::Assignments;
pub use catalog::{Catalog, Description, MAX_DEPTH, MAX_NODES, ROOT};
pub use error::{Error, Result, TreeRule};
pub use load::MAX_FILE_BYTES;
pub use memory::MemoryAssignments;
pub use node::Permission;
pub use store::{AssignmentStore, MAX_EFFECTIVE_GRANTS};
