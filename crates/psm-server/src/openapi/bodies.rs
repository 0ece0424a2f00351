//! The success bodies of the routes, as OpenAPI schemas. Handlers build these answers as JSON
//! (`json!`, shared with the CLI's `--json` output), so these types only describe them; the
//! schemathesis run (`cargo xtask schemathesis`, `response_schema_conformance`) checks every
//! answer against them.
#![allow(dead_code)] // schema-only types: never constructed, only described

use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, OneOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// `has_permission`, `no_permission` or `conditional`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Permissionship {
    /// Granted.
    HasPermission,
    /// Not granted.
    NoPermission,
    /// Caveat parameters the request did not give decide it.
    Conditional,
}

/// A check's answer.
#[derive(Debug, ToSchema)]
pub struct CheckAnswer {
    allowed: bool,
    permissionship: Permissionship,
    /// When conditional: the caveat parameters that were missing.
    #[schema(nullable = false)]
    missing_context: Option<Vec<String>>,
}

/// A bulk check's answers, in request order (a conditional answer is false).
#[derive(Debug, ToSchema)]
pub struct BulkCheckAnswer {
    results: Vec<bool>,
}

/// One resource of a lookup.
#[derive(Debug, ToSchema)]
pub struct FoundResource {
    id: String,
    permissionship: Permissionship,
    #[schema(nullable = false)]
    missing_context: Option<Vec<String>>,
}

/// A page of resources.
#[derive(Debug, ToSchema)]
pub struct LookupResourcesAnswer {
    /// The resources the subject has the permission on for certain.
    resource_ids: Vec<String>,
    /// Those and the conditional ones, sorted by id.
    results: Vec<FoundResource>,
    /// Pass as `cursor` for the next page; null on the last.
    cursor: Option<String>,
}

/// One subject of a lookup.
#[derive(Debug, ToSchema)]
pub struct FoundSubject {
    subject: String,
    /// For a wildcard: the subjects it excludes.
    excluded: Vec<String>,
}

/// A page of subjects.
#[derive(Debug, ToSchema)]
pub struct LookupSubjectsAnswer {
    subjects: Vec<FoundSubject>,
    /// Pass as `cursor` for the next page; null on the last.
    cursor: Option<String>,
}

/// A stored caveat on an expanded subject.
#[derive(Debug, ToSchema)]
pub struct ExpandCaveat {
    name: String,
    #[schema(value_type = Option<Object>)]
    context: Option<Value>,
}

/// A caveated subject of an expansion.
#[derive(Debug, ToSchema)]
pub struct CaveatedSubject {
    subject: String,
    caveat: ExpandCaveat,
}

/// The subjects of a leaf: `leaf`, subjects in relationship syntax; `caveated`, each with its
/// caveat.
#[derive(Debug)]
pub struct ExpandSubjects;

impl PartialSchema for ExpandSubjects {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(ArrayBuilder::new().items(String::schema()))
            .item(ArrayBuilder::new().items(Ref::from_schema_name("CaveatedSubject")))
            .into()
    }
}

impl ToSchema for ExpandSubjects {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("CaveatedSubject".into(), CaveatedSubject::schema()));
        CaveatedSubject::schemas(schemas);
    }
}

/// What kind of node.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ExpandKind {
    /// Stored subjects.
    Leaf,
    /// Stored subjects with caveats.
    Caveated,
    /// Any child.
    Union,
    /// Every child.
    Intersection,
    /// The first child but not the second.
    Exclusion,
    /// Already being expanded higher up; not followed.
    Cycle,
}

/// One node of an expansion tree.
#[derive(Debug, ToSchema)]
pub struct ExpandNode {
    /// `type:id`.
    object: String,
    relation: String,
    kind: ExpandKind,
    #[schema(nullable = false)]
    subjects: Option<ExpandSubjects>,
    #[schema(nullable = false, no_recursion)]
    children: Option<Vec<ExpandNode>>,
}

/// `{"tree": NODE}`.
#[derive(Debug, ToSchema)]
pub struct ExpandAnswer {
    tree: ExpandNode,
}

/// A write's answer.
#[derive(Debug, ToSchema)]
pub struct WriteAnswer {
    /// The revision the write produced: pass it as `at_least_as_fresh` to read your write, or
    /// as `after` to watch from it.
    revision: u64,
    /// How many updates were applied.
    updates: usize,
}

/// A delete's answer.
#[derive(Debug, ToSchema)]
pub struct DeleteAnswer {
    /// The revision the delete produced.
    revision: u64,
    /// How many distinct relationships were named.
    deleted: usize,
}

/// A page of relationships.
#[derive(Debug, ToSchema)]
pub struct ReadAnswer {
    /// Sorted, in relationship syntax.
    relationships: Vec<String>,
    /// Whether more pages follow.
    truncated: bool,
    /// Pass as `cursor` for the next page; null on the last.
    cursor: Option<String>,
}

/// `touch` or `delete`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ChangeOp {
    /// Created or kept.
    Touch,
    /// Deleted.
    Delete,
}

/// One change.
#[derive(Debug, ToSchema)]
pub struct Change {
    revision: u64,
    op: ChangeOp,
    relationship: String,
}

/// Changes, oldest first.
#[derive(Debug, ToSchema)]
pub struct ChangesAnswer {
    changes: Vec<Change>,
    /// The `after` of the next call.
    revision: u64,
}

/// The stored schema.
#[derive(Debug, ToSchema)]
pub struct SchemaAnswer {
    /// The schema text (SpiceDB language), or null when none was written.
    schema: Option<String>,
}

/// A stored schema's definitions.
#[derive(Debug, ToSchema)]
pub struct SchemaWritten {
    definitions: Vec<String>,
}

/// A session.
#[derive(Debug, ToSchema)]
pub struct Session {
    session_id: String,
    user_id: String,
    permissions: Vec<String>,
    /// Milliseconds since the epoch.
    created_at: u64,
    updated_at: u64,
    expires_at: Option<u64>,
    ttl_remaining_seconds: Option<u64>,
    #[schema(value_type = Object)]
    metadata: Value,
}

/// A session check's answer.
#[derive(Debug, ToSchema)]
pub struct SessionCheckAnswer {
    /// True when every permission is.
    allowed: bool,
    /// Each permission asked about.
    results: std::collections::BTreeMap<String, bool>,
}

/// An invalidation's answer.
#[derive(Debug, ToSchema)]
pub struct Invalidated {
    invalidated: bool,
}

/// A user's live sessions.
#[derive(Debug, ToSchema)]
pub struct UserSessions {
    user_id: String,
    /// Sorted: this page.
    sessions: Vec<String>,
    /// Pass as `cursor` for the next page; null on the last.
    cursor: Option<String>,
}

/// A cleanup's answer.
#[derive(Debug, ToSchema)]
pub struct Cleanup {
    removed: u64,
}

/// `/healthz`.
#[derive(Debug, ToSchema)]
pub struct Health {
    /// `ok` or `unhealthy`.
    status: String,
    backend: String,
    latency_ms: f64,
    message: Option<String>,
}

/// `/healthz`'s 503: unhealthy ([`Health`]), or the request deadline passed (an error).
#[derive(Debug)]
pub struct HealthOrError;

impl PartialSchema for HealthOrError {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(Ref::from_schema_name("Health"))
            .item(Ref::from_schema_name("ErrorBody"))
            .into()
    }
}

impl ToSchema for HealthOrError {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("Health".into(), Health::schema()));
    }
}

/// Any JSON object (the session store's counters, this document).
#[derive(Debug, ToSchema)]
#[schema(value_type = Object)]
pub struct AnyObject(#[allow(dead_code)] Value);
