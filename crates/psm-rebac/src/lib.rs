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
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod caveat;
pub mod engine;
pub mod error;
pub mod filter;
pub mod relationship;
pub mod schema;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use caveat::CaveatContext;
pub use engine::{
    CheckItem, Engine, EngineConfig, ExpandNode, Expansion, FoundSubject, LookupPage,
    Permissionship, Scope,
};
pub use error::{Error, Position, Result, SchemaFormat};
pub use filter::{
    Precondition, RelationshipFilter, RelationshipUpdate, SubjectFilter, SubjectRelationFilter,
    UpdateOp,
};
pub use relationship::{CaveatRef, IdRules, ObjectRef, Relationship, SubjectRef};
pub use schema::Schema;
pub use store::memory::MemoryStore;
pub use store::{Revision, TupleStore};
