//! The permission grammar and matcher shared by sessions, providers and the ACL.
//!
//! | grant | matches | does not match |
//! |---|---|---|
//! | `read:posts` | `read:posts` | anything else |
//! | `*` | every permission | — |
//! | `admin:*` | `admin:read`, `admin:users:delete` | `admin` |
//! | `posts:*:read` | `posts:42:read` | `posts:read`, `posts:1:2:read` |
//! | `test>` | `test`, `test.sub1`, `test.sub1.x` | `tests`, `tes` |

mod coverage;
mod grammar;
mod helpers;
mod hierarchy;
mod set;

pub use grammar::{MAX_PERMISSION_LEN, ParsedPermission, Shape, validate_permission};
pub use helpers::{filter_by_pattern, has_all, has_any, matches};
pub use hierarchy::{Hierarchy, HierarchyBuilder};
pub use set::{DEFAULT_MAX_PERMISSIONS, PermissionSet};
