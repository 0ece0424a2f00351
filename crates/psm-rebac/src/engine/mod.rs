//! The engine: a schema plus a `TupleStore`, validated writes, and request scopes with contextual relationships.

mod budget;
mod check;
mod expand;
mod fast;
mod lookup;
mod membership;
mod openfga_tuples;
mod reader;
mod reverse;
mod rules;
mod tri;

use std::sync::Arc;

pub use budget::{Bound, Budget, CancelToken};
pub use check::CheckItem;
pub use expand::{CaveatedSubject, ExpandNode, Expansion};
pub use lookup::{FoundResource, FoundSubject, FoundSubjectPermissionship, LookupPage};

use crate::caveat::{CaveatContext, Caveats};
use crate::error::{Error, Result};
use crate::filter::{Precondition, RelationshipFilter, RelationshipUpdate, UpdateOp};
use crate::relationship::{IdRules, ObjectRef, Relationship, SubjectRef, check_type_name};
use crate::schema::Schema;
use crate::store::{Consistency, Revision, TupleStore};
use openfga_tuples::openfga_tuple_rules;
use reverse::ReverseIndex;

/// Engine settings, including the budget every request gets (see [`Budget`]); going past a
/// bound is [`Error::BudgetExceeded`] naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// How deep a check may recurse before [`Error::DepthExceeded`] (default 50).
    pub max_depth: u32,
    /// Which object-id rules writes and contextual relationships must follow.
    pub id_rules: IdRules,
    /// Most evaluation steps (store reads and evaluated nodes) of one request (default
    /// 10,000,000: seconds of work, far above what a check or a lookup over millions of
    /// relationships needs).
    pub max_steps: u64,
    /// Most nodes and subjects one expand may build, counted before they are built (default
    /// 100,000).
    pub max_results: u64,
    /// How long one request may run (default none: the caller's own timeout applies, and
    /// dropping the request's future stops it; `psm serve` sets its request timeout here).
    pub deadline: Option<std::time::Duration>,
    /// Most estimated cost of one caveat evaluation (default 1,000,000): the expression's size
    /// times, for each level of nested comprehension (`exists`, `all`, `map`, `filter`, ...),
    /// the longest list it may iterate, bounded by the elements and string lengths in the
    /// parameters it was given. A caveat over more is [`Error::BudgetExceeded`] before it runs.
    pub max_caveat_cost: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_depth: 50,
            id_rules: IdRules::SpiceDb,
            max_steps: 10_000_000,
            max_results: 100_000,
            deadline: None,
            max_caveat_cost: 1_000_000,
        }
    }
}

/// A relationship engine over one schema and one store.
#[derive(Debug, Clone)]
pub struct Engine {
    schema: Arc<Schema>,
    store: Arc<dyn TupleStore>,
    config: EngineConfig,
    reverse: Arc<ReverseIndex>,
    /// The schema's analysis (dependency graph, SCCs, monotone and closed relations).
    analysis: Arc<crate::schema::Analysis>,
    /// Whether the schema and depth limit allow the synchronous fast path's recursion.
    fast_ok: bool,
    /// The memory store's symbols for schema names, shared by fast-path requests.
    schema_syms: Arc<fast::SchemaSyms>,
    /// The schema's caveats, compiled.
    caveats: Arc<Caveats>,
    /// Whether relationships may carry caveats or expiration (then every check evaluates them).
    conditional: bool,
    /// Cancels every request of this engine (and of its clones) at once.
    cancel: Option<CancelToken>,
    /// The store's plans for this schema, when it plans whole requests (built once, here).
    plan: Option<Arc<dyn crate::store::Plan>>,
}

/// The answer to a check whose relationships may carry caveats.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Permissionship {
    /// The subject does not have the permission.
    NoPermission,
    /// The subject has the permission.
    HasPermission,
    /// The subject has it if caveats whose parameters were not supplied allow it
    /// (SpiceDB's `CONDITIONAL_PERMISSION`).
    Conditional {
        /// The caveat parameters that were missing, sorted.
        missing: Vec<String>,
    },
}

/// One request's view: the engine plus contextual relationships that exist only for it.
#[derive(Debug, Clone)]
pub struct Scope<'e> {
    engine: &'e Engine,
    contextual: Vec<Relationship>,
    /// Caveat parameters supplied with the request.
    context: CaveatContext,
    /// Whether an answer that depends on missing caveat parameters is an error (OpenFGA).
    require_context: bool,
    /// How fresh the relationships behind this request's reads must be.
    consistency: Consistency,
    /// What this request may still spend.
    budget: Budget,
}

impl Engine {
    /// An engine with default settings.
    pub fn new(schema: Schema, store: Arc<dyn TupleStore>) -> Self {
        Self::with_config(schema, store, EngineConfig::default())
    }

    /// An engine with explicit settings.
    pub fn with_config(schema: Schema, store: Arc<dyn TupleStore>, config: EngineConfig) -> Self {
        // the schema's own analysis: the one a store's planner reads from the same schema
        let analysis = schema.analysis().clone();
        let reverse = Arc::new(ReverseIndex::build(&schema, &analysis));
        let caveats = Caveats::compile(&schema);
        let conditional =
            !caveats.is_empty() || schema.uses_caveats() || schema.uses_expiration_anywhere();
        let fast_ok = !conditional && fast::fits_stack(&schema, config.max_depth);
        let schema = Arc::new(schema);
        let plan = store.planner().and_then(|p| p.plan(&schema, &config));
        Self {
            schema,
            store,
            config,
            reverse,
            analysis,
            fast_ok,
            schema_syms: Arc::default(),
            caveats: Arc::new(caveats),
            conditional,
            cancel: None,
            plan,
        }
    }

    /// Makes `token` cancel every request of this engine: running ones stop within a few
    /// hundred steps with [`Bound::Cancelled`] (a server shutting down).
    pub fn with_cancel(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// A fresh request budget with this engine's bounds (the deadline counts from now) and its
    /// cancellation; give it to a request with [`Scope::with_budget`] to watch or cancel it.
    pub fn budget(&self) -> Budget {
        Budget::with_cancel(&self.config, self.cancel.clone())
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The schema's analysis ([`Schema::analysis`]: computed once per schema and shared with
    /// the store's planner).
    pub fn analysis(&self) -> &crate::schema::Analysis {
        &self.analysis
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn TupleStore> {
        &self.store
    }

    /// The settings.
    pub fn config(&self) -> EngineConfig {
        self.config
    }

    /// Checks a relationship against the schema: known type and relation, a relation (not a
    /// permission), an allowed subject type (caveat and expiration included), valid ids, a
    /// defined caveat and an RFC 3339 expiration.
    pub fn validate_relationship(&self, r: &Relationship) -> Result<()> {
        check_type_name(&r.resource.object_type)?;
        self.config
            .id_rules
            .check_object_id(&r.resource.object_id)?;
        let def = self
            .schema
            .definition(&r.resource.object_type)
            .ok_or_else(|| Error::UnknownType {
                object_type: r.resource.object_type.to_string(),
            })?;
        let rel = def
            .relation(&r.relation)
            .ok_or_else(|| Error::UnknownRelation {
                object_type: def.name.clone(),
                relation: r.relation.to_string(),
            })?;
        let not_allowed = |reason: String| Error::RelationshipNotAllowed {
            relationship: r.to_string(),
            reason,
        };
        if rel.allowed.is_empty() {
            return Err(not_allowed(format!(
                "`{}#{}` is a permission and cannot hold relationships",
                def.name, rel.name
            )));
        }
        let s = &r.subject;
        if self.schema.definition(&s.object.object_type).is_none() {
            return Err(Error::UnknownType {
                object_type: s.object.object_type.to_string(),
            });
        }
        if !s.is_wildcard() {
            self.config.id_rules.check_object_id(&s.object.object_id)?;
        }
        let caveat = r.caveat.as_ref().map(|c| c.name.as_str());
        let ok = rel.allowed.iter().any(|a| {
            a.object_type == *s.object.object_type
                && a.wildcard == s.is_wildcard()
                && a.relation.as_deref() == s.relation.as_deref()
                && a.caveat.as_deref() == caveat
                && a.expiration == r.expiration.is_some()
        });
        if !ok {
            let mut kind = match (&s.relation, s.is_wildcard()) {
                (Some(sr), _) => format!("{}#{sr}", s.object.object_type),
                (None, true) => format!("{}:*", s.object.object_type),
                (None, false) => s.object.object_type.to_string(),
            };
            if let Some(c) = caveat {
                kind.push_str(" with ");
                kind.push_str(c);
            }
            if r.expiration.is_some() {
                kind.push_str(" with expiration");
            }
            return Err(not_allowed(format!(
                "subjects of type `{kind}` are not allowed on relation `{}#{}`",
                def.name, rel.name
            )));
        }
        if self.config.id_rules == IdRules::OpenFga {
            openfga_tuple_rules(r).map_err(not_allowed)?;
        }
        if let Some(c) = &r.caveat
            && !self.schema.caveats.iter().any(|d| d.name == c.name)
        {
            return Err(not_allowed(format!("caveat `{}` is not defined", c.name)));
        }
        Ok(())
    }

    /// Validates every relationship, then writes atomically with preconditions.
    pub async fn write(
        &self,
        updates: &[RelationshipUpdate],
        preconditions: &[Precondition],
    ) -> Result<Revision> {
        for u in updates {
            if u.op != UpdateOp::Delete {
                self.validate_relationship(&u.relationship)?;
            }
        }
        self.store.write(updates, preconditions).await
    }

    /// Creates-or-keeps relationships (validated).
    pub async fn touch<I: IntoIterator<Item = Relationship>>(&self, rels: I) -> Result<Revision> {
        let updates: Vec<_> = rels.into_iter().map(RelationshipUpdate::touch).collect();
        self.write(&updates, &[]).await
    }

    /// Reads relationships by filter.
    pub async fn read(
        &self,
        filter: &RelationshipFilter,
        limit: Option<usize>,
    ) -> Result<Vec<Relationship>> {
        self.store.read(filter, limit).await
    }

    /// A request scope without contextual relationships.
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            engine: self,
            contextual: Vec::new(),
            context: CaveatContext::new(),
            require_context: false,
            consistency: Consistency::default(),
            budget: self.budget(),
        }
    }

    /// A request scope whose reads meet `consistency` (see [`Consistency`]); the same as
    /// `engine.scope().with_consistency(consistency)`.
    pub fn with_consistency(&self, consistency: Consistency) -> Scope<'_> {
        self.scope().with_consistency(consistency)
    }

    /// The store's head revision (that of the last write).
    pub async fn revision(&self) -> Result<Revision> {
        self.store.revision().await
    }

    /// A request scope with contextual relationships (validated like writes, never stored).
    pub fn with_contextual(&self, contextual: Vec<Relationship>) -> Result<Scope<'_>> {
        for r in &contextual {
            self.validate_relationship(r)?;
        }
        Ok(Scope {
            engine: self,
            contextual,
            context: CaveatContext::new(),
            require_context: false,
            consistency: Consistency::default(),
            budget: self.budget(),
        })
    }

    /// Whether `subject` has `permission` on `resource` given caveat parameters `context`:
    /// yes, no, or conditional on parameters that were not supplied.
    pub async fn check_with_context(
        &self,
        resource: &ObjectRef,
        permission: &str,
        subject: &SubjectRef,
        context: CaveatContext,
    ) -> Result<Permissionship> {
        self.scope()
            .with_context(context)
            .check_permissionship(resource, permission, subject)
            .await
    }

    /// Whether `subject` has `permission` on `resource`.
    pub async fn check(
        &self,
        resource: &ObjectRef,
        permission: &str,
        subject: &SubjectRef,
    ) -> Result<bool> {
        self.scope().check(resource, permission, subject).await
    }

    /// Ids of every `resource_type` object on which `subject` has `permission`, sorted.
    pub async fn lookup_resources(
        &self,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
    ) -> Result<Vec<String>> {
        self.scope()
            .lookup_resources(resource_type, permission, subject)
            .await
    }

    /// Subjects of `subject_type` (optionally a userset relation) that have `permission` on `resource`.
    pub async fn lookup_subjects(
        &self,
        resource: &ObjectRef,
        permission: &str,
        subject_type: &str,
        subject_relation: Option<&str>,
    ) -> Result<Vec<FoundSubject>> {
        self.scope()
            .lookup_subjects(resource, permission, subject_type, subject_relation)
            .await
    }

    /// The userset tree of `resource#permission`.
    pub async fn expand(&self, resource: &ObjectRef, permission: &str) -> Result<ExpandNode> {
        self.scope().expand(resource, permission).await
    }
}

impl Scope<'_> {
    /// Supplies caveat parameters for this request; a relationship's stored context wins over
    /// them for the same parameter.
    pub fn with_context(mut self, context: CaveatContext) -> Self {
        self.context = context;
        self
    }

    /// Makes an answer that depends on missing caveat parameters an [`Error::MissingContext`]
    /// (OpenFGA's behaviour) instead of `false` / [`Permissionship::Conditional`].
    pub fn require_context(mut self) -> Self {
        self.require_context = true;
        self
    }

    /// Runs this request on `budget` (from [`Engine::budget`]) instead of its own, so the
    /// caller can watch its [`steps`](Budget::steps) or [`cancel`](Budget::cancel) it.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// This request's budget.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The caveat parameters of this request.
    pub fn context(&self) -> &CaveatContext {
        &self.context
    }

    /// Sets how fresh this request's reads must be (default
    /// [`Consistency::MinimizeLatency`]). With [`Consistency::AtLeastAsFresh`] every read of
    /// this scope first checks the revision against the store's head and fails with
    /// [`Error::RevisionNotIssued`] when the store never issued it.
    pub fn with_consistency(mut self, consistency: Consistency) -> Self {
        self.consistency = consistency;
        self
    }

    /// The consistency this request's reads meet.
    pub fn consistency(&self) -> Consistency {
        self.consistency
    }

    /// Checks the request's consistency against the store before it reads.
    pub(crate) async fn require_consistency(&self) -> Result<()> {
        self.consistency.require(&*self.engine.store).await
    }

    /// Reads stored relationships by filter (contextual ones are not included), at this
    /// scope's consistency.
    pub async fn read(
        &self,
        filter: &RelationshipFilter,
        limit: Option<usize>,
    ) -> Result<Vec<Relationship>> {
        self.require_consistency().await?;
        self.engine.store.read(filter, limit).await
    }

    /// What checks need to evaluate caveats and expiration, when the schema has them.
    pub(crate) fn conditions(&self) -> Option<rules::Conditions<'_>> {
        self.engine.conditional.then(|| rules::Conditions {
            caveats: &self.engine.caveats,
            context: &self.context,
            now: chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()),
            strict: self.require_context,
            max_cost: self.budget.max_caveat_cost(),
        })
    }

    /// With [`Scope::require_context`] (OpenFGA), fails when `r`'s condition cannot be evaluated
    /// (a missing parameter, an evaluation error): OpenFGA's ListObjects and ListUsers fail the
    /// whole request on any relationship they reach whose condition fails, whatever the other
    /// results. Without it, or for a relationship without a condition, does nothing.
    pub(crate) fn require_condition(&self, r: &Relationship) -> Result<()> {
        if !self.require_context || !self.engine.conditional {
            return Ok(());
        }
        let Some(cv) = &r.caveat else {
            return Ok(());
        };
        if !self.engine.caveats.defines(&cv.name) {
            return Ok(());
        }
        match self.engine.caveats.eval(
            &cv.name,
            cv.context.as_ref().map(crate::StoredContext::map),
            &self.context,
            true,
            self.budget.max_caveat_cost(),
        )? {
            crate::caveat::Outcome::Missing(m) => Err(Error::MissingContext {
                parameters: m.into_iter().collect(),
            }),
            _ => Ok(()),
        }
    }

    /// Turns a root result into a permissionship (unknown, from a cycle, is no permission).
    pub(crate) fn answer(
        &self,
        t: tri::Tri,
        missing: &std::collections::BTreeSet<String>,
    ) -> Result<Permissionship> {
        Ok(match t {
            tri::Tri::True | tri::Tri::Wild => Permissionship::HasPermission,
            tri::Tri::False | tri::Tri::Unknown => Permissionship::NoPermission,
            tri::Tri::Conditional if self.require_context => {
                return Err(Error::MissingContext {
                    parameters: missing.iter().cloned().collect(),
                });
            }
            tri::Tri::Conditional => Permissionship::Conditional {
                missing: missing.iter().cloned().collect(),
            },
        })
    }

    /// A plan's answer as this scope reports it (conditional is an error when the scope
    /// requires context).
    pub(crate) fn planned(&self, p: Permissionship) -> Result<Permissionship> {
        match p {
            Permissionship::Conditional { missing } if self.require_context => {
                Err(Error::MissingContext {
                    parameters: missing,
                })
            }
            p => Ok(p),
        }
    }

    /// The contextual relationships of this scope.
    pub fn contextual(&self) -> &[Relationship] {
        &self.contextual
    }

    /// The store's interned index to answer from synchronously, when this request may take
    /// the fast path (the snapshot must also hold no caveated or expiring relationships). An
    /// index that may lag the store ([`InternedIndex::revision`]) is used only when it meets
    /// the request's consistency: any lag for `MinimizeLatency`, at least the requested
    /// revision for `AtLeastAsFresh`, and the store's head (one `revision` round trip) for
    /// `FullyConsistent`.
    ///
    /// [`InternedIndex::revision`]: crate::store::InternedIndex::revision
    pub(crate) async fn fast_index(&self) -> Result<Option<&dyn crate::store::InternedIndex>> {
        if !self.contextual.is_empty() || !self.engine.fast_ok {
            return Ok(None);
        }
        let Some(ix) = self.engine.store.interned_index() else {
            return Ok(None);
        };
        let Some(at) = ix.revision() else {
            return Ok(Some(ix));
        };
        let fresh = match self.consistency {
            Consistency::MinimizeLatency => true,
            Consistency::AtLeastAsFresh(r) => r <= at,
            Consistency::FullyConsistent => self.engine.store.revision().await? <= at,
        };
        Ok(fresh.then_some(ix))
    }

    /// The store's plan for this engine's schema, when this request may use it (no contextual
    /// relationships: they exist only in the request, the store cannot see them).
    pub(crate) fn plan(&self) -> Option<&dyn crate::store::Plan> {
        if !self.contextual.is_empty() {
            return None;
        }
        self.engine.plan.as_deref()
    }

    /// Checks that a resource type and permission exist.
    pub(crate) fn require_relation(&self, object_type: &str, relation: &str) -> Result<()> {
        let def = self
            .engine
            .schema
            .definition(object_type)
            .ok_or_else(|| Error::UnknownType {
                object_type: object_type.to_owned(),
            })?;
        if def.relation(relation).is_none() {
            return Err(Error::UnknownRelation {
                object_type: object_type.to_owned(),
                relation: relation.to_owned(),
            });
        }
        Ok(())
    }

    /// Checks that a subject's type (and relation) exist.
    pub(crate) fn require_subject(&self, subject_type: &str, relation: Option<&str>) -> Result<()> {
        match relation {
            Some(r) => self.require_relation(subject_type, r),
            None => {
                if self.engine.schema.definition(subject_type).is_none() {
                    return Err(Error::UnknownType {
                        object_type: subject_type.to_owned(),
                    });
                }
                Ok(())
            }
        }
    }
}
