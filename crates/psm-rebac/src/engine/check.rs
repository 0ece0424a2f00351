//! `check` and `check_bulk`: the async evaluator of userset rewrites over any store, driving
//! the rules of `rules.rs` (three-valued results, cycle cuts, the depth limit, the memo, and
//! relationships' conditions — see its header for the semantics). One code path evaluates
//! relationships with and without caveats or expiration: without conditions every relationship
//! holds, and a userset member found by the backward walk (`membership.rs`) answers at once.

use std::future::Future;
use std::pin::Pin;

use std::collections::BTreeSet;

use foldhash::HashMap;

use super::fast::{FastChecker, Syms};
use super::membership::Memberships;
use super::reader::Reader;
use super::reverse::ReverseIndex;
use super::rules::{self, Conditions, Walk, combine_rewrite};
use super::tri::{Fold, Res, Tri};
use super::{Permissionship, Scope};
use crate::error::Result;
use crate::relationship::{ObjectRef, Relationship, SubjectRef};
use crate::schema::analysis::Reaching;
use crate::schema::{ArrowKind, Relation, Rewrite, Schema};
use crate::store::Planned;

type BoxFut<'s, T> = Pin<Box<dyn Future<Output = T> + Send + 's>>;

/// One question for [`Scope::check_bulk`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckItem {
    /// The resource.
    pub resource: ObjectRef,
    /// The permission or relation.
    pub permission: String,
    /// The subject.
    pub subject: SubjectRef,
}

/// Evaluates checks for one subject; the memo may be shared across roots (see `rules.rs`).
pub(crate) struct Checker<'a> {
    schema: &'a Schema,
    index: &'a ReverseIndex,
    reader: Reader<'a>,
    subject: &'a SubjectRef,
    walk: Walk<(ObjectRef, &'a str)>,
    members: Option<Memberships>,
    /// With `weak_wildcard`: the memberships found without the wildcard's relationships.
    concrete_members: Option<Memberships>,
    /// Caveats, the request context and the clock, when the schema has caveats or expiration.
    cond: Option<Conditions<'a>>,
    /// Caveat parameters that were needed and missing.
    pub(crate) missing: BTreeSet<String>,
    /// Whether a wildcard relationship covering the subject counts as [`Tri::Wild`] rather
    /// than true (subject lookups: a subject covered only by `user:*` is not listed by itself).
    weak_wildcard: bool,
    /// Relations that can hold the subject's kind (the schema analysis's, computed once).
    reach: Reaching<'a>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(
        schema: &'a Schema,
        index: &'a ReverseIndex,
        reader: Reader<'a>,
        subject: &'a SubjectRef,
        max_depth: u32,
    ) -> Self {
        Self {
            schema,
            index,
            reader,
            subject,
            walk: Walk::new(max_depth),
            members: None,
            concrete_members: None,
            cond: None,
            missing: BTreeSet::new(),
            weak_wildcard: false,
            reach: index
                .analysis
                .reaching(&subject.object.object_type, subject.relation.as_deref()),
        }
    }

    /// Whether `object_type#relation` can hold the subject's kind: only those are evaluated
    /// and their relationships read (as OpenFGA walks its type graph; the others are false
    /// whatever their relationships, so their conditions, cycles and depth do not matter). The
    /// same pruning on every path (`fast/` too), with or without conditions.
    fn reads(&self, object_type: &str, relation: &str) -> bool {
        self.reach.has(object_type, relation)
    }

    /// Tells "covered only through a wildcard" ([`Tri::Wild`]) apart from true.
    pub(crate) fn with_weak_wildcard(mut self, weak: bool) -> Self {
        self.weak_wildcard = weak;
        self
    }

    /// What a matching relationship to `probe` is worth: true, or [`Tri::Wild`] for a wildcard
    /// when wildcards are told apart.
    fn matched(&self, probe: &SubjectRef) -> Tri {
        if self.weak_wildcard && probe.is_wildcard() {
            Tri::Wild
        } else {
            Tri::True
        }
    }

    /// Evaluates relationships' caveats and expiration with these conditions.
    pub(crate) fn with_conditions(mut self, cond: Option<Conditions<'a>>) -> Self {
        self.cond = cond;
        self
    }

    /// Whether a relationship has expired (never, without conditions).
    fn expired(&self, r: &Relationship) -> bool {
        self.cond.is_some_and(|c| rules::expired(r, c.now))
    }

    /// Whether a relationship holds: false once expired, its caveat's outcome otherwise.
    fn holds(&mut self, r: &Relationship) -> Result<Tri> {
        rules::holds(self.cond.as_ref(), r, &mut self.missing)
    }

    /// What the backward walk knows about `obj#rel`: `Some(Some((d, t)))` a member at distance
    /// `d` (`t` true, or [`Tri::Wild`] when only a wildcard makes it one and wildcards are told
    /// apart), `Some(None)` certainly not a member (closed relation, complete walk), `None`
    /// unknown.
    async fn membership(&mut self, obj: &ObjectRef, rel: &str) -> Option<Option<(u32, Tri)>> {
        if self.cond.is_some() {
            // Reachability is not membership once relationships carry conditions.
            return None;
        }
        let max_depth = self.walk.max_depth;
        if self.members.is_none() {
            let m = Memberships::compute(
                self.schema,
                self.index,
                self.reader,
                self.subject,
                max_depth,
                true,
            )
            .await
            .unwrap_or_default();
            self.members = Some(m);
        }
        if self.weak_wildcard && self.concrete_members.is_none() {
            let m = Memberships::compute(
                self.schema,
                self.index,
                self.reader,
                self.subject,
                max_depth,
                false,
            )
            .await
            .unwrap_or_default();
            self.concrete_members = Some(m);
        }
        let m = self.members.as_ref()?;
        match m.distance(obj, rel) {
            Some(d) if !self.weak_wildcard => Some(Some((d, Tri::True))),
            Some(d) => {
                let c = self.concrete_members.as_ref()?;
                match c.distance(obj, rel) {
                    Some(dc) => Some(Some((dc, Tri::True))),
                    None if c.complete() => Some(Some((d, Tri::Wild))),
                    None => None,
                }
            }
            None if m.complete()
                && self
                    .index
                    .closed
                    .contains(&(obj.object_type.to_string(), rel.to_owned())) =>
            {
                Some(None)
            }
            None => None,
        }
    }

    /// Answers one root question. Reuses the memo; redoes the evaluation with an empty memo if
    /// the memoised run met a cycle cut or an error.
    pub(crate) async fn check_root_tri(&mut self, obj: &ObjectRef, rel: &'a str) -> Result<Tri> {
        let had_memo = self.walk.has_memo();
        self.missing.clear();
        let r = self.node(obj.clone(), rel, 0).await;
        if r.clean || !had_memo {
            return r.val;
        }
        let saved = self.walk.set_aside();
        self.missing.clear();
        let r = self.node(obj.clone(), rel, 0).await;
        self.walk.restore(saved);
        r.val
    }

    fn node(&mut self, obj: ObjectRef, rel: &'a str, depth: u32) -> BoxFut<'_, Res> {
        Box::pin(async move {
            // A relation that cannot hold the subject's kind is false, at any depth (as in
            // `fast/`); `this` and `arrow` do not even read such relationships.
            if !self.reads(&obj.object_type, rel) {
                return Res::of(Tri::False);
            }
            if let Some(r) = self.walk.too_deep(depth) {
                return r;
            }
            if let Err(e) = self.reader.budget.step() {
                return rules::failed(e);
            }
            if self.subject.relation.as_deref() == Some(rel) && self.subject.object == obj {
                return Res::of(Tri::True);
            }
            let key = (obj, rel);
            let (schema, index) = (self.schema, self.index);
            let strict = self.cond.is_some_and(|c| c.strict);
            let cut = || rules::cycle_cut(schema, index, strict, &key.0.object_type, rel);
            if let Some(r) = self.walk.recall(&key, depth, cut) {
                return r;
            }
            let Some(relation) = self.schema.relation(&key.0.object_type, rel) else {
                return Res::of(Tri::False);
            };
            let obj = key.0.clone();
            self.walk.enter(key);
            let r = self.rewrite(&obj, relation, &relation.rewrite, depth).await;
            self.walk.leave(r)
        })
    }

    fn rewrite<'s>(
        &'s mut self,
        obj: &'s ObjectRef,
        relation: &'a Relation,
        rw: &'a Rewrite,
        depth: u32,
    ) -> BoxFut<'s, Res> {
        Box::pin(async move {
            combine_rewrite!(rw,
                c => self.rewrite(obj, relation, c, depth).await,
                leaf => match leaf {
                    Rewrite::This => self.this(obj, relation, depth).await,
                    Rewrite::Computed { relation: c, .. } => {
                        self.node(obj.clone(), c.as_str(), depth + 1).await
                    }
                    Rewrite::Arrow {
                        tupleset,
                        computed,
                        kind,
                        ..
                    } => self.arrow(obj, tupleset, computed, *kind, depth).await,
                    _ => Res::of(Tri::False),
                }
            )
        })
    }

    /// Stored relationships on `obj#relation`: a direct match, a matching wildcard, or a userset
    /// that (recursively) contains the subject; each counts as its condition, and a userset
    /// through it as the condition ∧ the membership. Subjects the schema no longer allows are
    /// ignored.
    async fn this(&mut self, obj: &ObjectRef, relation: &'a Relation, depth: u32) -> Res {
        let s = self.subject;
        let mut f = Fold::new(Tri::True);
        let mut probes: Vec<SubjectRef> = Vec::new();
        for a in &relation.allowed {
            if a.object_type != *s.object.object_type {
                continue;
            }
            let probe = if a.wildcard {
                (s.relation.is_none()).then(|| SubjectRef::wildcard(s.object.object_type.clone()))
            } else if a.relation.as_deref() == s.relation.as_deref() && !s.is_wildcard() {
                Some(s.clone())
            } else {
                None
            };
            if let Some(p) = probe
                && !probes.contains(&p)
            {
                probes.push(p);
            }
        }
        for p in probes {
            let found = self.reader.find(obj, &relation.name, &p).await;
            let worth = self.matched(&p);
            let r = match found {
                Ok(Some(rel)) if rules::fits(relation, &rel) => match self.holds(&rel) {
                    Ok(Tri::True) => Res::of(worth),
                    Ok(t) => Res::of(t),
                    Err(e) => rules::failed(e),
                },
                Ok(_) => Res::of(Tri::False),
                Err(e) => rules::failed(e),
            };
            if let Some(done) = f.add(r) {
                return done;
            }
        }
        let mut kinds: Vec<(&str, &str)> = Vec::new();
        for a in &relation.allowed {
            if let Some(sr) = a.relation.as_deref()
                && !kinds.contains(&(a.object_type.as_str(), sr))
            {
                kinds.push((a.object_type.as_str(), sr));
            }
        }
        // Usersets of one kind are read together; those of a relation that nests itself
        // (`team#rel: [team#rel, ...]`) all at once, as OpenFGA's recursive strategy reads them.
        let recursive = kinds
            .iter()
            .any(|(t, sr)| *t == &*obj.object_type && *sr == relation.name);
        let mut groups: Vec<Vec<(Relationship, &'a str)>> = Vec::new();
        for (t, sr) in kinds {
            if !self.reads(t, sr) {
                continue;
            }
            let rels = match self
                .reader
                .subject_relationships(obj, &relation.name, t, Some(sr))
                .await
            {
                Ok(v) => v,
                Err(e) => {
                    f.add(rules::failed(e));
                    continue;
                }
            };
            let rels = rels
                .into_iter()
                .filter(|rel| rel.subject != *s && rules::fits(relation, rel))
                .map(|rel| (rel, sr));
            match groups.last_mut() {
                Some(g) if recursive => g.extend(rels),
                _ => groups.push(rels.collect()),
            }
        }
        let strict = self.cond.is_some_and(|c| c.strict);
        for group in groups {
            let rels: Vec<Relationship> = group.iter().map(|(r, _)| r.clone()).collect();
            let held = rules::group_held(self.cond.as_ref(), &rels, &mut self.missing);
            // The subject's own side first: where it fails, that kind fails as a whole.
            let mut failed: Vec<(String, &'a str)> = Vec::new();
            let mut tried: Vec<(String, &'a str)> = Vec::new();
            for ((rel, sr), held) in group.iter().zip(&held) {
                let k = (rel.subject.object.object_type.to_string(), *sr);
                if strict && matches!(held, Ok(Tri::True)) && !tried.contains(&k) {
                    let r = self.subject_side(&k.0, sr).await;
                    tried.push(k.clone());
                    if !matches!(r.val, Ok(Tri::False)) {
                        failed.push(k);
                        f.add(r);
                    }
                }
            }
            for ((rel, sr), held) in group.iter().zip(held) {
                if strict && failed.contains(&(rel.subject.object.object_type.to_string(), *sr)) {
                    continue;
                }
                let r = self.through(rel, held, sr, depth, true).await;
                if let Some(done) = f.add(r) {
                    return done;
                }
            }
        }
        f.finish()
    }

    /// OpenFGA's fast path for a plain subject and a userset (or arrow target) `t#rel` whose
    /// relation is only directly assigned plain subjects: it reads the subject's own
    /// relationships on `t#rel`, whatever their object, and fails when one's condition cannot
    /// be evaluated. False otherwise (the membership itself is evaluated by the caller); only
    /// with strict conditions.
    async fn subject_side(&mut self, t: &str, rel: &str) -> Res {
        let s = self.subject;
        let strict = self.cond.is_some_and(|c| c.strict);
        let Some(relation) = self.schema.relation(t, rel) else {
            return Res::of(Tri::False);
        };
        let direct_only = matches!(relation.rewrite, Rewrite::This)
            && relation.allowed.iter().all(|a| a.relation.is_none());
        if !strict || !direct_only || s.relation.is_some() || s.is_wildcard() {
            return Res::of(Tri::False);
        }
        let mut probes = vec![s.clone()];
        if relation
            .allowed
            .iter()
            .any(|a| a.wildcard && a.object_type == *s.object.object_type)
        {
            probes.push(SubjectRef::wildcard(s.object.object_type.clone()));
        }
        for p in probes {
            let rels = match self.reader.by_subject_on(&p, t, rel).await {
                Ok(v) => v,
                Err(e) => return rules::failed(e),
            };
            for r in rels.iter().filter(|r| rules::fits(relation, r)) {
                match self.holds(r) {
                    Ok(Tri::Conditional) => return rules::unclean(Tri::Conditional),
                    Err(e) => return rules::failed(e),
                    _ => {}
                }
            }
        }
        Res::of(Tri::False)
    }

    /// `condition(rel) ∧ rel.subject.object#computed`, given whether `rel` holds. A userset
    /// step (`userset`) first asks the backward walk, which knows plain-relation memberships
    /// without expanding them (only without conditions).
    async fn through(
        &mut self,
        rel: &Relationship,
        held: Result<Tri>,
        computed: &'a str,
        depth: u32,
        userset: bool,
    ) -> Res {
        let held = match rules::through_held(self.cond.as_ref(), held) {
            Ok(t) => t,
            Err(r) => return r,
        };
        if userset {
            // A member found backwards through plain relations is a member; the depth guard
            // keeps the answer identical to expanding forwards within the limit.
            match self.membership(&rel.subject.object, computed).await {
                Some(Some((d, t))) if depth + 1 + d <= self.walk.max_depth => {
                    return rules::found_at(Tri::and(held, t), d + 1);
                }
                Some(None) => return Res::of(Tri::False),
                _ => {}
            }
        }
        let mut r = self
            .node(rel.subject.object.clone(), computed, depth + 1)
            .await;
        if let Ok(t) = r.val {
            r.val = Ok(Tri::and(held, t));
        }
        r
    }

    /// `tupleset->computed`: the tupleset's relationships are one group (OpenFGA reads them in
    /// one go); an expired one is absent, one whose caveat is false still counts (as false)
    /// for `.all()`.
    async fn arrow(
        &mut self,
        obj: &ObjectRef,
        tupleset: &'a str,
        computed: &'a str,
        kind: ArrowKind,
        depth: u32,
    ) -> Res {
        let Some(ts) = self.schema.relation(&obj.object_type, tupleset) else {
            return Res::of(Tri::False);
        };
        let mut f = rules::arrow_fold(kind);
        let mut any = false;
        let mut kinds: Vec<(&str, Option<&str>)> = Vec::new();
        for a in ts.allowed.iter().filter(|a| !a.wildcard) {
            let k = (a.object_type.as_str(), a.relation.as_deref());
            // `.all()` needs every target, reachable or not: only `.any()` skips.
            let skip = kind == ArrowKind::Any && !self.reads(&a.object_type, computed);
            if !kinds.contains(&k) && !skip {
                kinds.push(k);
            }
        }
        let mut group: Vec<Relationship> = Vec::new();
        for (t, sr) in kinds {
            match self
                .reader
                .subject_relationships(obj, tupleset, t, sr)
                .await
            {
                Ok(v) => group.extend(
                    v.into_iter()
                        .filter(|rel| !self.expired(rel) && rules::fits(ts, rel)),
                ),
                Err(e) => {
                    f.add(rules::failed(e));
                }
            }
        }
        let held = rules::group_held(self.cond.as_ref(), &group, &mut self.missing);
        let strict = self.cond.is_some_and(|c| c.strict);
        // The subject's own side first (`.any()` only): where it fails, that target type fails.
        let mut failed: Vec<String> = Vec::new();
        let mut tried: Vec<String> = Vec::new();
        for (rel, held) in group.iter().zip(&held) {
            let t = rel.subject.object.object_type.to_string();
            if strict
                && kind == ArrowKind::Any
                && matches!(held, Ok(Tri::True))
                && !tried.contains(&t)
            {
                let r = self.subject_side(&t, computed).await;
                tried.push(t.clone());
                if !matches!(r.val, Ok(Tri::False)) {
                    failed.push(t);
                    f.add(r);
                }
            }
        }
        for (rel, held) in group.iter().zip(held) {
            any = true;
            if strict && failed.iter().any(|t| *t == *rel.subject.object.object_type) {
                continue;
            }
            let r = if self
                .schema
                .relation(&rel.subject.object.object_type, computed)
                .is_some()
            {
                self.through(rel, held, computed, depth, false).await
            } else {
                Res::of(Tri::False)
            };
            if let Some(done) = f.add(r) {
                return done;
            }
        }
        rules::arrow_finish(f, kind, any)
    }
}

impl Scope<'_> {
    pub(crate) fn reader(&self) -> Reader<'_> {
        Reader {
            store: &*self.engine.store,
            contextual: &self.contextual,
            budget: &self.budget,
        }
    }

    /// Whether `subject` has `permission` on `resource` (an unknown, cyclic answer is `false`;
    /// so is one conditional on caveat parameters the request did not supply, unless the scope
    /// [requires context](Scope::require_context), which makes it an error).
    pub async fn check(
        &self,
        resource: &ObjectRef,
        permission: &str,
        subject: &SubjectRef,
    ) -> Result<bool> {
        Ok(self
            .check_permissionship(resource, permission, subject)
            .await?
            == Permissionship::HasPermission)
    }

    /// Whether `subject` has `permission` on `resource`: yes, no, or conditional on caveat
    /// parameters the request did not supply.
    pub async fn check_permissionship(
        &self,
        resource: &ObjectRef,
        permission: &str,
        subject: &SubjectRef,
    ) -> Result<Permissionship> {
        let schema = &*self.engine.schema;
        // One lookup: the relation found is what `require_relation` would have found.
        let Some(rel) = schema.relation(&resource.object_type, permission) else {
            self.require_relation(&resource.object_type, permission)?;
            return Ok(Permissionship::NoPermission);
        };
        self.require_subject(&subject.object.object_type, subject.relation.as_deref())?;
        self.require_consistency().await?;
        if let Some(ix) = self.fast_index().await? {
            let max = self.engine.config.max_depth;
            let mut out = None;
            ix.read(&mut |g| {
                if g.has_conditions() {
                    return;
                }
                let compiled = self.engine.schema_syms.get(schema, &self.engine.reverse, g);
                let syms = Syms::new(g, &compiled);
                let mut c = FastChecker::new(
                    schema,
                    &self.engine.reverse,
                    syms,
                    subject,
                    max,
                    &self.budget,
                );
                out = Some(c.check_root(resource, &rel.name));
            });
            if let Some(r) = out {
                return Ok(if r? {
                    Permissionship::HasPermission
                } else {
                    Permissionship::NoPermission
                });
            }
        }
        if let Some(plan) = self.plan()
            && let Planned::Answer(p) = plan
                .check(resource, &rel.name, subject, &self.context)
                .await?
        {
            return self.planned(p);
        }
        let mut c = Checker::new(
            schema,
            &self.engine.reverse,
            self.reader(),
            subject,
            self.engine.config.max_depth,
        )
        .with_conditions(self.conditions());
        let t = c.check_root_tri(resource, &rel.name).await?;
        self.answer(t, &c.missing)
    }

    /// Answers many checks, in order; checks for the same subject share a memo.
    pub async fn check_bulk(&self, items: &[CheckItem]) -> Result<Vec<bool>> {
        let schema = &*self.engine.schema;
        let mut out = vec![false; items.len()];
        let mut by_subject: HashMap<&SubjectRef, Vec<usize>> = HashMap::default();
        for (i, it) in items.iter().enumerate() {
            self.require_relation(&it.resource.object_type, &it.permission)?;
            self.require_subject(
                &it.subject.object.object_type,
                it.subject.relation.as_deref(),
            )?;
            by_subject.entry(&it.subject).or_default().push(i);
        }
        self.require_consistency().await?;
        if let Some(ix) = self.fast_index().await? {
            let max = self.engine.config.max_depth;
            let mut done = None;
            ix.read(&mut |g| {
                if g.has_conditions() {
                    return;
                }
                let compiled = self.engine.schema_syms.get(schema, &self.engine.reverse, g);
                let mut all = || -> Result<()> {
                    for (subject, idxs) in &by_subject {
                        let syms = Syms::new(g, &compiled);
                        let mut c = FastChecker::new(
                            schema,
                            &self.engine.reverse,
                            syms,
                            subject,
                            max,
                            &self.budget,
                        );
                        for &i in idxs {
                            let it = &items[i];
                            if let Some(rel) =
                                schema.relation(&it.resource.object_type, &it.permission)
                            {
                                out[i] = c.check_root(&it.resource, &rel.name)?;
                            }
                        }
                    }
                    Ok(())
                };
                done = Some(all());
            });
            if let Some(r) = done {
                r?;
                return Ok(out);
            }
        }
        let mut by_subject: Vec<(&SubjectRef, Vec<usize>)> = by_subject.into_iter().collect();
        if let Some(plan) = self.plan() {
            // Each item the plan answers leaves the generic evaluation below.
            for (_, idxs) in &mut by_subject {
                let mut rest = Vec::new();
                for &i in idxs.iter() {
                    let it = &items[i];
                    let answer = match schema.relation(&it.resource.object_type, &it.permission) {
                        Some(rel) => {
                            plan.check(&it.resource, &rel.name, &it.subject, &self.context)
                                .await?
                        }
                        None => Planned::Answer(Permissionship::NoPermission),
                    };
                    match answer {
                        Planned::Answer(p) => {
                            out[i] = self.planned(p)? == Permissionship::HasPermission;
                        }
                        Planned::Declined(_) => rest.push(i),
                    }
                }
                *idxs = rest;
            }
        }
        for (subject, idxs) in by_subject {
            if idxs.is_empty() {
                continue;
            }
            let mut c = Checker::new(
                schema,
                &self.engine.reverse,
                self.reader(),
                subject,
                self.engine.config.max_depth,
            )
            .with_conditions(self.conditions());
            for i in idxs {
                let it = &items[i];
                if let Some(rel) = schema.relation(&it.resource.object_type, &it.permission) {
                    let t = c.check_root_tri(&it.resource, &rel.name).await?;
                    out[i] = self.answer(t, &c.missing)? == Permissionship::HasPermission;
                }
            }
        }
        Ok(out)
    }

    /// Checks many resources of one permission for one subject, sharing a memo.
    pub(crate) async fn check_many(
        &self,
        resources: &[ObjectRef],
        permission: &str,
        subject: &SubjectRef,
    ) -> Result<Vec<Permissionship>> {
        let schema = &*self.engine.schema;
        let mut out = Vec::with_capacity(resources.len());
        let mut c = Checker::new(
            schema,
            &self.engine.reverse,
            self.reader(),
            subject,
            self.engine.config.max_depth,
        )
        .with_conditions(self.conditions());
        for r in resources {
            match schema.relation(&r.object_type, permission) {
                Some(rel) => {
                    let t = c.check_root_tri(r, &rel.name).await?;
                    out.push(self.answer(t, &c.missing)?);
                }
                None => out.push(Permissionship::NoPermission),
            }
        }
        Ok(out)
    }
}
