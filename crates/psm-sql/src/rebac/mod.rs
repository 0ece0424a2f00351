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
//!
//! # Consistency and watch
//!
//! The revision row is bumped inside every write's transaction and holds its lock until the
//! commit, so revisions are monotonic across processes and commit in revision order. Reads go
//! to the primary database (there are no replicas), so they are at the head: every
//! psm-rebac [`Consistency`] level sees every acknowledged write, from any connection or
//! process; `AtLeastAsFresh(r)` costs one `SELECT` of the head and fails with
//! `RevisionNotIssued` when `r` is newer.
//!
//! The change log (`{prefix}rebac_changes`) is read through [`TupleStore::changes_since`];
//! [`TupleStore::watch_next`] polls it (5 ms doubling to 200 ms, never past the wait) and
//! `psm_rebac::watch` makes a `Stream` of it. Entries stay until
//! [`TupleStore::prune_changes`]; pruning, [`SqlTupleStore::delete_all`] and
//! [`SqlTupleStore::bulk_load`] (both unlogged) raise the pruned horizon (row `id = 2` of the
//! revision table) in their transaction, and a watcher behind it gets `ChangesPruned`.
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use psm_rebac::{ChangeOp, RelationshipUpdate, TupleStore};
//! use psm_sql::rebac::SqlTupleStore;
//!
//! let store = SqlTupleStore::connect("sqlite::memory:").await?;
//! let start = TupleStore::revision(&store).await?;
//! let update = RelationshipUpdate::touch("doc:a#reader@user:ann".parse()?);
//! let written = store.write(&[update], &[]).await?;
//! let changes = store.watch_next(start, Duration::from_secs(1)).await?;
//! assert_eq!((changes[0].revision, changes[0].op), (written, ChangeOp::Touch));
//! store.prune_changes(written).await?;
//! assert!(store.changes_since(start, 100).await.is_err()); // fell behind: resync
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

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
