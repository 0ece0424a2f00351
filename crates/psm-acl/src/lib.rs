//! psm-acl: a role / resource / permission ACL (the model of Python's Miracle) with role
//! inheritance, pattern permissions, lock-free snapshots and JSON persistence.
//!
//! Permissions are defined on resources; roles are granted permissions on resources; a role
//! may inherit from several parent roles. Grants may be patterns of psm's one grammar
//! (`posts:*`, `admin>`, `*`), evaluated by every `check`.
//!
//! ```
//! use psm_acl::Acl;
//!
//! let mut acl = Acl::new();
//! acl.add([("blog", ["read", "write"]), ("admin", ["users:list", "users:delete"])])?;
//! acl.grant("viewer", "blog", "read")?;
//! acl.grant("editor", "blog", "write")?;
//! acl.grant("root", "admin", "users>")?;         // a pattern: users and everything below
//! acl.add_parent("editor", "viewer")?;            // editors can do what viewers can
//! acl.add_parent("root", "editor")?;
//!
//! assert!(acl.check("editor", "blog", "read"));   // inherited from viewer
//! assert!(!acl.check("viewer", "blog", "write"));
//! assert!(acl.check("root", "admin", "users:delete"));
//! assert!(acl.check("root", "admin", "users:ban"));   // matched by the pattern
//! assert!(acl.check_any(["viewer", "editor"], "blog", "write"));
//! assert!(!acl.check_all(["viewer", "editor"], "blog", "write"));
//!
//! let which = acl.which("root").to_map();
//! assert_eq!(which["blog"].len(), 2);                 // read (via viewer) and write (via editor)
//! assert!(which["admin"].contains("users>"));         // grants are listed as written
//!
//! // Lock-free reads of an immutable snapshot while the ACL changes on.
//! let snapshot = acl.snapshot();
//! acl.remove_role("viewer");
//! assert!(!acl.check("editor", "blog", "read"));
//! assert!(snapshot.check("editor", "blog", "read"));
//!
//! // Rows for JSON or SQL tables; importing replaces the state.
//! let data = acl.export();
//! let json = serde_json::to_string(&data).unwrap();
//! let copy: Acl = serde_json::from_str(&json).unwrap();
//! assert_eq!(copy.show(), acl.show());
//! # Ok::<(), psm_acl::Error>(())
//! ```
//!
//! # Semantics
//!
//! * Miracle's: `grant` creates a missing role, resource and permission; `revoke` of an absent
//!   grant does nothing; `check` with an unknown role or resource is false; `check_any` and
//!   `check_all` are false for an empty list of roles; `remove_permission` affects only the
//!   named resource; `remove_role` and `remove_resource` drop their grants; `which_all`
//!   intersects per resource and drops a resource that any role lacks.
//! * Inheritance: a role holds everything its parents hold, transitively. Cycles (including a
//!   role naming itself) are rejected with [`Error::Cycle`]. `show()` and `export()` list
//!   direct grants; `check` and `which*` include inherited ones. Removing a role cuts its
//!   edges: its children lose what they inherited through it.
//! * Patterns: for string permission types ([`PermissionLike`] with a grammar) every
//!   permission is validated when it enters the ACL, and a pattern grant on a resource matches
//!   the permissions of psm's grammar on that resource, defined or not. A check of a pattern
//!   asks whether the role's grants on the resource cover it. Other permission types are exact:
//!   a grant matches only an equal permission (see [`PermissionLike`], [`Exact`]).
//! * Failure: a write that fails (invalid permission, cycle, [`AclLimits`] exceeded) changes
//!   nothing; a check never fails (an invalid permission is simply not granted).
//!
//! # Performance
//!
//! Roles, resources and (per resource) permissions are interned to dense `u32` ids; each role
//! keeps, per resource, a bitset of the permissions it holds with inheritance folded in. A
//! `check` is one hash probe for the role and one for the (resource, permission) pair (both
//! values hashed together, giving the resource id and the permission's bit at once), then a bit
//! test: in a dense array indexed by resource id for roles that hold something on at least an
//! eighth of the resources (16 bits a resource while every resource's grants fit in its first 16
//! permissions, 64 bits otherwise, then from a quarter), in the role's per-resource map
//! otherwise. The role and pair lookups use the crate's own open-addressing table (16-byte
//! pair slots, at most half full: a lookup compares tags, then the key once). At 1M grants (100
//! roles x 1,000 resources x 10 permissions, 10,000 pairs) the tables checks read take about
//! 800 KB (the pair index 512 KB of it), which the CPU's L2 cache holds. Pattern grants live in a separate compiled matcher consulted only on a miss. `which(role)` borrows the role's
//! compiled map (O(1)); its views copy bitsets, not
//! values. `snapshot()` is O(1) (copy-on-write); [`SharedAcl`] publishes snapshots to readers
//! on other threads without locks.
//!
//! # Persistence
//!
//! [`AclSnapshot::save_json`] writes [`AclData`] JSON atomically (temp file, fsync, rename,
//! directory fsync); [`Acl::load_json`] reads it back bounded by
//! [`AclLimits::max_file_bytes`]. [`AclData`] is five row lists — roles, resources,
//! (resource, permission), (role, resource, permission), (role, parent) — one SQL table each.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod acl;
mod bits;
mod core;
mod data;
mod effective;
mod error;
mod grant;
mod inherit;
mod interner;
mod limits;
mod pairs;
mod perm_table;
mod permission;
mod persist;
mod probe;
mod query;
mod shared;
mod snapshot;
mod structure;
mod structure_query;
mod view;

pub use acl::Acl;
pub use data::AclData;
pub use error::{Error, Result};
pub use limits::AclLimits;
pub use permission::{Exact, PermissionLike};
pub use shared::SharedAcl;
pub use snapshot::AclSnapshot;
pub use view::{Grants, PermissionView};
