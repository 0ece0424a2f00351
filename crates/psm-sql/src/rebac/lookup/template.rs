//! Statements compiled once per schema and reused by every request: a [`Template`] is a
//! compiled statement whose request values (the subject id, the resource id, the clock) are
//! slots filled at bind time, so a request only binds values. [`Compiled`] holds one schema's
//! templates, keyed on what shapes the SQL (the request kind, the resource type and permission,
//! the subject's type and relation, whether it is a wildcard), in a bounded map; the store keeps
//! the `Compiled` of its last few schemas (keyed on the schema itself, compared by value).
//!
//! A template is made by compiling with sentinel values (ids no validated id can be: they start
//! with a NUL byte; a clock value no clock reads) and turning the binds that carry them into
//! slots.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use psm_rebac::schema::Analysis;
use psm_rebac::{ObjectRef, Schema, SubjectRef};

use super::compile::{Frag, Unsupported};
use crate::dialect::Dialect;
use crate::rebac::rows::SqlValue;

/// The subject id a template is compiled with.
pub(crate) const SUBJECT_ID: &str = "\u{0}psm:subject";
/// The resource id a template is compiled with.
pub(crate) const RESOURCE_ID: &str = "\u{0}psm:resource";
/// The clock a template is compiled with.
pub(crate) const NOW: i64 = i64::MIN + 0x0050_534d;

/// The proven revision a plan's template is compiled with (see `depth.rs`).
pub(crate) const PROVEN: i64 = i64::MIN + 0x0050_5256;

/// Templates kept per schema before the map starts over.
const MAX_TEMPLATES: usize = 4096;
/// Schemas whose templates a store keeps.
const MAX_SCHEMAS: usize = 8;

/// Where a bound value comes from.
#[derive(Debug, Clone)]
enum Slot {
    Subject,
    Resource,
    Now,
    Proven,
    Fixed(SqlValue),
}

/// A compiled statement in the database's placeholder syntax, with its slots in order.
#[derive(Debug)]
pub(crate) struct Template {
    /// The statement text with `?` placeholders (what a [`super::SqlFilter`] composes).
    pub(crate) text: String,
    /// The statement text as run (`$n` placeholders on PostgreSQL, `?` elsewhere).
    pub(crate) sql: String,
    slots: Vec<Slot>,
}

impl Template {
    /// Turns a fragment compiled with the sentinels into a template.
    pub(crate) fn new(dialect: Dialect, frag: Frag) -> Self {
        let slots = frag
            .binds
            .into_iter()
            .map(|v| match &v {
                SqlValue::Text(s) if &**s == SUBJECT_ID => Slot::Subject,
                SqlValue::Text(s) if &**s == RESOURCE_ID => Slot::Resource,
                SqlValue::Int(NOW) => Slot::Now,
                SqlValue::Int(PROVEN) => Slot::Proven,
                _ => Slot::Fixed(v),
            })
            .collect();
        Template {
            sql: dialect.sql(&frag.sql),
            text: frag.sql,
            slots,
        }
    }

    /// The statement with `?` placeholders and this request's values.
    pub(crate) fn frag(&self, subject: &SubjectRef, resource_id: &str, now: i64) -> Frag {
        Frag {
            sql: self.text.clone(),
            binds: self.binds(subject, resource_id, now),
        }
    }

    /// The values to bind for one request.
    pub(crate) fn binds(&self, subject: &SubjectRef, resource_id: &str, now: i64) -> Vec<SqlValue> {
        self.binds_proven(subject, resource_id, now, super::depth::UNPROVEN)
    }

    /// The values to bind for one request of a plan, with the revision its depth proof holds
    /// at.
    pub(crate) fn binds_proven(
        &self,
        subject: &SubjectRef,
        resource_id: &str,
        now: i64,
        proven: i64,
    ) -> Vec<SqlValue> {
        let resource: Arc<str> = Arc::from(resource_id);
        self.slots
            .iter()
            .map(|s| match s {
                Slot::Subject => SqlValue::Text(subject.object.object_id.clone()),
                Slot::Resource => SqlValue::Text(resource.clone()),
                Slot::Now => SqlValue::Int(now),
                Slot::Proven => SqlValue::Int(proven),
                Slot::Fixed(v) => v.clone(),
            })
            .collect()
    }
}

/// What a template answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// `check_sql`'s statement: a row when the subject has the permission.
    Check,
    /// A plan's check: `'deep'` (let the engine answer), `'y'` or `'n'`, in one statement.
    PlanCheck,
    /// A lookup's ids (grants that need no caveat).
    Lookup,
    /// A lookup's ids counting caveated relationships as granting.
    LookupPossible,
    /// A plan's lookup: the ids unless the depth guard fires (then none).
    PlanLookup,
    /// The depth guard of a lookup: a row when a walk may reach the depth limit.
    GuardLookup,
}

/// What shapes a template's SQL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    kind: Kind,
    resource_type: Arc<str>,
    permission: Arc<str>,
    subject_type: Arc<str>,
    subject_relation: Option<Arc<str>>,
    wildcard: bool,
}

/// A compile result as kept: the template, or why SQL cannot express the request.
pub(crate) type Cached = Arc<Result<Template, Unsupported>>;

/// `(resource type, permission)`.
type RootKey = (Arc<str>, Arc<str>);

/// A permission's [`RootInfo`] as kept.
pub(crate) type CachedRoot = Arc<Result<RootInfo, Unsupported>>;

/// One schema's templates over one store.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) schema: Arc<Schema>,
    /// The schema's one analysis ([`Schema::analysis`]: computed once per schema and shared
    /// with every other evaluator of it).
    pub(crate) analysis: Arc<Analysis>,
    pub(crate) dialect: Dialect,
    pub(crate) tuples: String,
    templates: Mutex<HashMap<Key, Cached>>,
    roots: Mutex<HashMap<RootKey, CachedRoot>>,
}

/// What a request on one permission needs to know about the schema around it.
#[derive(Debug)]
pub(crate) struct RootInfo {
    /// Whether every relation the permission reaches is a union (more relationships never
    /// remove a result).
    pub(crate) monotone: bool,
    /// The stored relations it reads that allow a caveat (`type#relation`), sorted.
    pub(crate) caveated: Vec<(String, String)>,
    /// The probe for live caveated relationships there (`None`: nothing to probe).
    pub(crate) probe: Option<Template>,
}

impl Compiled {
    pub(crate) fn new(schema: Arc<Schema>, dialect: Dialect, tuples: String) -> Self {
        Compiled {
            analysis: schema.analysis().clone(),
            schema,
            dialect,
            tuples,
            templates: Mutex::new(HashMap::new()),
            roots: Mutex::new(HashMap::new()),
        }
    }

    /// What requests on `resource_type#permission` need to know, computed by `build` once.
    pub(crate) fn root(
        &self,
        resource_type: &str,
        permission: &str,
        build: impl FnOnce() -> Result<RootInfo, Unsupported>,
    ) -> CachedRoot {
        let key = (Arc::from(resource_type), Arc::from(permission));
        if let Some(r) = self.roots.lock().get(&key) {
            return r.clone();
        }
        let r = Arc::new(build());
        let mut map = self.roots.lock();
        if map.len() >= MAX_TEMPLATES {
            map.clear();
        }
        map.insert(key, r.clone());
        r
    }

    /// The template of `kind` for this request's shape, compiled by `build` (given the subject
    /// and resource to compile with) the first time.
    pub(crate) fn template(
        &self,
        kind: Kind,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
        build: impl FnOnce(&SubjectRef, &ObjectRef) -> Result<Frag, Unsupported>,
    ) -> Cached {
        let key = Key {
            kind,
            resource_type: Arc::from(resource_type),
            permission: Arc::from(permission),
            subject_type: subject.object.object_type.clone(),
            subject_relation: subject.relation.clone(),
            wildcard: subject.is_wildcard(),
        };
        if let Some(t) = self.templates.lock().get(&key) {
            return t.clone();
        }
        let sentinel = if key.wildcard {
            subject.clone()
        } else {
            SubjectRef {
                object: ObjectRef::new(subject.object.object_type.clone(), SUBJECT_ID),
                relation: subject.relation.clone(),
            }
        };
        let resource = ObjectRef::new(resource_type, RESOURCE_ID);
        let t = Arc::new(build(&sentinel, &resource).map(|f| Template::new(self.dialect, f)));
        let mut map = self.templates.lock();
        if map.len() >= MAX_TEMPLATES {
            map.clear();
        }
        map.insert(key, t.clone());
        t
    }
}

/// The `Compiled` of the last few schemas a store was asked about.
#[derive(Debug, Default)]
pub(crate) struct SchemaCache {
    recent: Mutex<Vec<Arc<Compiled>>>,
}

impl SchemaCache {
    /// The templates of `schema` (equal by value to one seen before, or new).
    pub(crate) fn get(&self, schema: &Schema, dialect: Dialect, tuples: &str) -> Arc<Compiled> {
        let mut recent = self.recent.lock();
        if let Some(i) = recent.iter().position(|c| *c.schema == *schema) {
            let c = recent.remove(i);
            recent.insert(0, c.clone());
            return c;
        }
        // the analysis first, so that the caller's schema and the clone kept share it
        let _ = schema.analysis();
        let c = Arc::new(Compiled::new(
            Arc::new(schema.clone()),
            dialect,
            tuples.to_owned(),
        ));
        recent.insert(0, c.clone());
        recent.truncate(MAX_SCHEMAS);
        c
    }

    /// Like [`SchemaCache::get`] for a schema already shared (the engine's).
    pub(crate) fn get_shared(
        &self,
        schema: &Arc<Schema>,
        dialect: Dialect,
        tuples: &str,
    ) -> Arc<Compiled> {
        let mut recent = self.recent.lock();
        if let Some(i) = recent
            .iter()
            .position(|c| Arc::ptr_eq(&c.schema, schema) || *c.schema == **schema)
        {
            let c = recent.remove(i);
            recent.insert(0, c.clone());
            return c;
        }
        let c = Arc::new(Compiled::new(schema.clone(), dialect, tuples.to_owned()));
        recent.insert(0, c.clone());
        recent.truncate(MAX_SCHEMAS);
        c
    }
}
