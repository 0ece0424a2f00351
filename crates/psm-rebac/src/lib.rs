//! psm-rebac: a Zanzibar-style relationship engine.
//!
//! Schemas come in the SpiceDB schema language ([`Schema::parse_spicedb`]), the OpenFGA DSL
//! ([`Schema::parse_openfga`]) or dj_magister's JSON ([`Schema::parse_json`]). Relationships
//! (`document:doc1#reader@group:eng#member`) live in a [`TupleStore`]; the [`Engine`] answers
//! `check`, `check_bulk`, `lookup_resources`, `lookup_subjects` and `expand` over it, with
//! contextual relationships, wildcards, intersection, exclusion, cycle safety and a depth limit.
//!
//! Lookups agree with `check` by construction: they collect candidates by traversing the graph
//! (backwards for resources, forwards for subjects) and confirm every candidate with `check`.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use psm_rebac::{Engine, MemoryStore, Relationship, Schema, SubjectRef};
//!
//! let schema = Schema::parse_spicedb(r#"
//!     definition user {}
//!     definition group { relation member: user | group#member }
//!     definition document {
//!         relation reader: user | group#member
//!         relation parent: document
//!         permission read = reader + parent->read
//!     }
//! "#)?;
//! let engine = Engine::new(schema, Arc::new(MemoryStore::new()));
//! engine.touch([
//!     "group:eng#member@user:alice".parse::<Relationship>()?,
//!     "document:spec#reader@group:eng#member".parse()?,
//!     "document:spec_v2#parent@document:spec".parse()?,
//! ]).await?;
//!
//! let alice: SubjectRef = "user:alice".parse()?;
//! assert!(engine.check(&"document:spec_v2".parse()?, "read", &alice).await?);
//! let docs = engine.lookup_resources("document", "read", &alice).await?;
//! assert_eq!(docs, ["spec", "spec_v2"]);
//! # Ok::<(), psm_rebac::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Consistency and watch
//!
//! Every write returns a [`Revision`]; [`TupleStore::revision`] is the store's head. A read
//! can demand freshness with a [`Consistency`] on its [`Scope`]:
//! `AtLeastAsFresh(r)` fails with [`Error::RevisionNotIssued`] when `r` is newer than the
//! head (never a silently stale answer), `FullyConsistent` reads at the head. Both stores of
//! psm read at their head (memory under its lock, SQL on the primary), from any handle.
//!
//! [`TupleStore::changes_since`] lists what writes applied after a revision,
//! [`TupleStore::watch_next`] waits (bounded) for the next ones and [`watch`] turns that into
//! a `Stream`, for cache invalidation. The change log is bounded: a watcher behind what was
//! pruned gets [`Error::ChangesPruned`] and must resync (read at the head, watch from it).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! use std::{sync::Arc, time::Duration};
//! use psm_rebac::{ChangeOp, Consistency, Engine, Error, MemoryStore, Relationship, Schema};
//! use psm_rebac::TupleStore as _;
//!
//! let schema = Schema::parse_spicedb(
//!     "definition user {} definition doc { relation reader: user permission read = reader }",
//! )?;
//! let store = Arc::new(MemoryStore::new());
//! let engine = Engine::new(schema, store.clone());
//! let seen = engine.revision().await?;
//!
//! let written = engine.touch(["doc:a#reader@user:ann".parse::<Relationship>()?]).await?;
//! let fresh = engine.with_consistency(Consistency::at_least_as_fresh(written));
//! assert!(fresh.check(&"doc:a".parse()?, "read", &"user:ann".parse()?).await?);
//!
//! // a revision the store never issued is an error, not a stale answer
//! let future = engine.with_consistency(Consistency::AtLeastAsFresh(written + 1));
//! let err = future.check(&"doc:a".parse()?, "read", &"user:ann".parse()?).await;
//! assert!(matches!(err, Err(Error::RevisionNotIssued { .. })));
//!
//! // what changed since `seen`, waiting at most a second for it
//! let changes = store.watch_next(seen, Duration::from_secs(1)).await?;
//! assert_eq!(changes[0].revision, written);
//! assert_eq!(changes[0].op, ChangeOp::Touch);
//! assert_eq!(changes[0].relationship.to_string(), "doc:a#reader@user:ann");
//! # Ok::<(), psm_rebac::Error>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod caveat;
pub mod engine;
pub mod error;
mod expiration;
pub mod filter;
pub mod relationship;
pub mod schema;
pub mod store;
mod store_error;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
#[cfg(feature = "validation")]
pub mod validation;

pub use caveat::{CaveatContext, StoredContext};
pub use engine::{
    Bound, Budget, CancelToken, CaveatedSubject, CheckItem, Engine, EngineConfig, ExpandNode,
    Expansion, FoundResource, FoundSubject, FoundSubjectPermissionship, LookupPage, Permissionship,
    Scope,
};
pub use error::{Error, Position, Result, SchemaFormat, StoreError, StoreErrorKind};
pub use expiration::{Expiration, expiration_millis};
pub use filter::{
    Precondition, RelationshipFilter, RelationshipUpdate, SubjectFilter, SubjectRelationFilter,
    UpdateOp,
};
pub use relationship::{CaveatRef, IdRules, ObjectRef, Relationship, SubjectRef};
pub use schema::Schema;
pub use store::memory::MemoryStore;
#[cfg(feature = "mirror")]
pub use store::mirror::{MirrorConfig, MirrorState, MirrorStore};
pub use store::watch::watch;
pub use store::with_schema::{RelationshipStore, SchemaStore};
pub use store::{Change, ChangeOp, Consistency, MAX_CHANGES, Revision, TupleStore};
