//! psm-memory: the in-memory `SessionStore` — sharded read/write locks, a compiled matcher per
//! session, `max_sessions` quota, and a background sweep of expired sessions.
//!
//! Checks take one shard read lock and one hash probe; expired sessions are invisible from the
//! instant they expire, whether or not the sweep has run. URL: `memory://` with the options of
//! [`MemoryConfig`].
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod config;
mod store;
mod sweep;
mod table;

pub use config::MemoryConfig;
pub use store::MemoryStore;
