//! ReBAC on SQL (feature `rebac`): [`SqlTupleStore`], a psm-rebac [`TupleStore`] in
//! PostgreSQL, SQLite or MySQL/MariaDB.
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use psm_rebac::{Engine, Relationship, Schema, SubjectRef};
//! use psm_sql::rebac::SqlTupleStore;
//!
//! let source = r#"
//!     definition user {}
//!     definition document {
//!         relation reader: user
//!         permission read = reader
//!     }
//! "#;
//! let store = SqlTupleStore::connect("sqlite::memory:").await?;
//! store.write_schema(source).await?;
//! let schema = Schema::parse_spicedb(&store.read_schema().await?.unwrap_or_default())?;
//! let engine = Engine::new(schema, Arc::new(store.clone()));
//! engine.touch(["document:spec#reader@user:alice".parse::<Relationship>()?]).await?;
//! let alice: SubjectRef = "user:alice".parse()?;
//! assert!(engine.check(&"document:spec".parse()?, "read", &alice).await?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # URLs
//!
//! The URLs of the [crate docs](crate) (`postgres://`, `sqlite://file.db`, `sqlite::memory:`,
//! `mysql://`), with the options `table_prefix` (default `psm_`), `migrate` and the pool
//! options; unknown options are errors.
//!
//! # Tables
//!
//! | table | holds |
//! |---|---|
//! | `{prefix}rebac_tuples` | one row per relationship: resource type, id, relation, subject type, id, relation (`''` for none), caveat name and JSON context, expiration (RFC 3339 text and milliseconds) |
//! | `{prefix}rebac_revision` | the store revision, bumped by every write |
//! | `{prefix}rebac_changes` | the change log: revision, sequence, operation and relationship of every applied update |
//! | `{prefix}rebac_schema` | the schema source text ([`SqlTupleStore::write_schema`]) |
//! | `{prefix}rebac_migrations` | applied migration versions |
//!
//! The primary key is the forward index (resource, relation, subject type, subject relation,
//! subject id); `{prefix}rebac_tuples_rev` is the reverse index (subject, resource type,
//! relation, resource id). Expired relationships are invisible to every read, whether or not
//! they were deleted.
//!
//! # Writes
//!
//! A write is one transaction: it bumps the revision row first (so writers are serialised and
//! preconditions see every earlier write), checks the preconditions, then applies each update
//! in order — create (fails with `AlreadyExists` on a live relationship), touch (insert or
//! replace caveat and expiration), delete (if present) — and logs it. Any failure rolls
//! everything back.

mod bulk;
mod changes;
mod config;
mod lookup;
mod read;
pub(crate) mod rows;
mod store;
mod tables;
mod time;
mod write;

pub use config::TupleStoreConfig;
pub use lookup::{FilterStrategy, MAX_FALLBACK_IDS, SqlFilter};
pub use psm_rebac::TupleStore;
pub use psm_rebac::{Change, ChangeOp, Consistency, MAX_CHANGES};
pub use rows::SqlValue;
pub use store::SqlTupleStore;
