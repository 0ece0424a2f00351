//! psm-core: the traits, types, errors, validation rules and permission grammar shared by every
//! psm crate. Backends depend on this crate alone.
//!
//! ```
//! use psm_core::permission::PermissionSet;
//! let grants = PermissionSet::new(["read:posts", "admin:*"])?;
//! assert!(grants.check("admin:users:delete")?);
//! assert!(!grants.check("write:posts")?);
//! # Ok::<(), psm_core::Error>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod backend;
pub mod bytes;
pub mod clock;
pub mod duration;
mod error;
mod error_kind;
mod id;
#[cfg(feature = "invalidation")]
pub mod invalidation;
pub mod permission;
mod provider;
mod session;
mod store;
mod time;
pub mod url;
pub mod valid;
pub mod validate;

#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;

pub use backend::SessionBackend;
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use error::{BoxError, Error, Field, PermissionError, PermissionRule, Result, Rule};
pub use error_kind::{ErrorBody, ErrorDetail, ErrorKind};
pub use id::generate_session_id;
pub use permission::{Hierarchy, PermissionSet};
pub use provider::{PermissionsProvider, Principal};
pub use session::{DEFAULT_TTL, Expiry, NewSession, Session, SessionInfo, is_expired};
pub use store::{Capabilities, CheckNow, Health, SessionStore, StoreStats};
pub use time::Timestamp;
pub use url::StoreUrl;
pub use validate::Limits;

/// Re-exported so backends and their users share one `async_trait` macro version.
pub use async_trait::async_trait;
