//! `check` and `check_bulk`: three-valued evaluation of userset rewrites with cycle cuts,
//! a depth limit, and a memo of results that are provably independent of the path taken.
//!
//! Semantics. A node `object#relation` evaluates to true, false, or *unknown* when the
//! evaluation re-enters a node already on the current path (a cycle). Union, intersection and
//! exclusion combine these with Kleene logic (true dominates a union, false an intersection);
//! a request whose answer is unknown is answered `false`, as OpenFGA does. Errors (depth) are
//! dominated the same way, so the answer never depends on the order branches are visited.
//!
//! Memo. A definite result whose evaluation met no cycle cut and no error does not depend on
//! the path that led to it, so it is cached with the height of its subtree and reused wherever
//! the remaining depth budget covers that height. A root evaluation that met a cut is redone
//! with an empty memo, so a check answers exactly what a fresh single check answers.

use std::future::Future;
use std::pin::Pin;

use std::collections::BTreeSet;

use foldhash::HashMap;

use super::fast::{FastChecker, Syms};
use super::membership::Memberships;
use super::reader::Reader;
use super::reverse::ReverseIndex;
use super::tri::{Fold, Res, Tri};
use super::{Permissionship, Scope};
use crate::caveat::{CaveatContext, Caveats, Outcome};
use crate::error::{Error, Result};
use crate::relationship::{ObjectRef, Relationship, SubjectRef};
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

/// Evaluates checks for one subject; the memo may be shared across roots (see module docs).
pub(crate) struct Checker<'a> {
    schema: &'a Schema,
    index: &'a ReverseIndex,
    reader: Reader<'a>,
    subject: &'a SubjectRef,
    max_depth: u32,
    path: Vec<(ObjectRef, &'a str)>,
    memo: HashMap<(ObjectRef, &'a str), (bool, u32)>,
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
    /// Relations that can hold the subject's kind (computed when first needed, with conditions).
    reach: Option<std::collections::HashSet<(String, String)>>,
}

/// What a conditional check needs: the compiled caveats, the request context, and "now".
#[derive(Clone, Copy)]
pub(crate) struct Conditions<'a> {
    pub caveats: &'a Caveats,
    pub context: &'a CaveatContext,
    pub now: chrono::DateTime<chrono::Utc>,
    /// Every declared parameter must be supplied (OpenFGA).
    pub strict: bool,
    /// The most one caveat evaluation may cost (the request's budget).
    pub max_cost: u64,
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
            max_depth,
            path: Vec::new(),
            memo: HashMap::default(),
            members: None,
            concrete_members: None,
            cond: None,
            missing: BTreeSet::new(),
            weak_wildcard: false,
            reach: None,
        }
    }

    /// Whether relationships of `object_type#relation` can lead to the subject (OpenFGA reads
    /// only those; the others cannot make the answer true, so their conditions do not matter).
    fn leads_to_subject(&mut self, object_type: &str, relation: &str) -> bool {
        let (schema, subject) = (self.schema, self.subject);
        let reach = self.reach.get_or_insert_with(|| {
            super::reach::reaching(
                schema,
                &subject.object.object_type,
                subject.relation.as_deref(),
            )
        });
        reach.contains(&(object_type.to_owned(), relation.to_owned()))
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

    /// Whether the relation still allows this relationship's subject kind, caveat and expiration
    /// (relationships written under an older schema are ignored).
    fn fits(relation: &Relation, r: &Relationship) -> bool {
        let s = &r.subject;
        let caveat = r.caveat.as_ref().map(|c| c.name.as_str());
        relation.allowed.iter().any(|a| {
            a.object_type == *s.object.object_type
                && a.wildcard == s.is_wildcard()
                && a.relation.as_deref() == s.relation.as_deref()
                && a.caveat.as_deref() == caveat
                && (a.expiration || r.expiration.is_none())
        })
    }

    /// Whether a relationship has expired (one with an unreadable expiration counts as expired).
    fn expired(&self, r: &Relationship) -> bool {
        match (&self.cond, &r.expiration) {
            (Some(c), Some(e)) => {
                !matches!(chrono::DateTime::parse_from_rfc3339(e), Ok(t) if t > c.now)
            }
            _ => false,
        }
    }

    /// Whether a relationship holds: false once expired, its caveat's outcome otherwise.
    fn holds(&mut self, r: &Relationship) -> Result<Tri> {
        let Some(c) = self.cond else {
            return Ok(Tri::True);
        };
        if self.expired(r) {
            return Ok(Tri::False);
        }
        let Some(cv) = &r.caveat else {
            return Ok(Tri::True);
        };
        if !c.caveats.defines(&cv.name) {
            // Written under an older schema whose caveat no longer exists: not a relationship.
            return Ok(Tri::False);
        }
        Ok(
            match c.caveats.eval(
                &cv.name,
                cv.context.as_deref(),
                c.context,
                c.strict,
                c.max_cost,
            )? {
                Outcome::True => Tri::True,
                Outcome::False => Tri::False,
                Outcome::Missing(m) => {
                    self.missing.extend(m);
                    Tri::Conditional
                }
            },
        )
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
        if self.members.is_none() {
            let m = Memberships::compute(
                self.schema,
                self.index,
                self.reader,
                self.subject,
                self.max_depth,
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
                self.max_depth,
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

    /// Answers one root question. Reuses the memo; redoes the evaluation from scratch if
    /// the memoised run met a cycle cut or an error.
    pub(crate) async fn check_root_tri(&mut self, obj: &ObjectRef, rel: &'a str) -> Result<Tri> {
        let had_memo = !self.memo.is_empty();
        self.missing.clear();
        let r = self.node(obj.clone(), rel, 0).await;
        if r.clean || !had_memo {
            return r.val;
        }
        let mut fresh = Checker::new(
            self.schema,
            self.index,
            self.reader,
            self.subject,
            self.max_depth,
        )
        .with_conditions(self.cond)
        .with_weak_wildcard(self.weak_wildcard);
        let r = fresh.node(obj.clone(), rel, 0).await;
        self.missing = fresh.missing;
        r.val
    }

    fn node(&mut self, obj: ObjectRef, rel: &'a str, depth: u32) -> BoxFut<'_, Res> {
        Box::pin(async move {
            if depth > self.max_depth {
                return Res {
                    val: Err(Error::DepthExceeded {
                        limit: self.max_depth,
                    }),
                    height: 0,
                    clean: false,
                };
            }
            if let Err(e) = self.reader.budget.step() {
                return Res {
                    val: Err(e),
                    height: 0,
                    clean: false,
                };
            }
            if self.subject.relation.as_deref() == Some(rel) && self.subject.object == obj {
                return Res::of(Tri::True);
            }
            let key = (obj, rel);
            if let Some(&(v, h)) = self.memo.get(&key)
                && depth.saturating_add(h) <= self.max_depth
            {
                let mut r = Res::of(if v { Tri::True } else { Tri::False });
                r.height = h;
                return r;
            }
            if self.path.contains(&key) {
                // OpenFGA (strict conditions) answers a cycle cut false, so an exclusion of an
                // empty userset cycle subtracts nothing; elsewhere it stays unknown. Not clean
                // either way: nothing below it is memoised.
                let strict = self.cond.is_some_and(|c| c.strict);
                return Res {
                    val: Ok(if strict { Tri::False } else { Tri::Unknown }),
                    height: 0,
                    clean: false,
                };
            }
            let Some(relation) = self.schema.relation(&key.0.object_type, rel) else {
                return Res::of(Tri::False);
            };
            let obj = key.0.clone();
            self.path.push(key);
            let mut r = self.rewrite(&obj, relation, &relation.rewrite, depth).await;
            let key = self.path.pop();
            r.height = r.height.saturating_add(1);
            if let (true, Ok(t @ (Tri::True | Tri::False)), Some(key)) = (r.clean, &r.val, key) {
                self.memo.insert(key, (*t == Tri::True, r.height));
            }
            r
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
            match rw {
                Rewrite::Nil => Res::of(Tri::False),
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
                Rewrite::Union(children) => {
                    let mut f = Fold::new(Tri::True);
                    for c in children {
                        let r = self.rewrite(obj, relation, c, depth).await;
                        if let Some(done) = f.add(r) {
                            return done;
                        }
                    }
                    f.finish()
                }
                Rewrite::Intersection(children) => {
                    let mut f = Fold::new(Tri::False);
                    for c in children {
                        let r = self.rewrite(obj, relation, c, depth).await;
                        if let Some(done) = f.add(r) {
                            return done;
                        }
                    }
                    f.finish()
                }
                Rewrite::Exclusion(base, sub) => {
                    let b = self.rewrite(obj, relation, base, depth).await;
                    if matches!(b.val, Ok(Tri::False)) {
                        return b;
                    }
                    let s = self.rewrite(obj, relation, sub, depth).await;
                    let height = b.height.max(s.height);
                    let clean = b.clean && s.clean;
                    let val = match (b.val, s.val) {
                        (_, Ok(Tri::True | Tri::Wild)) => Ok(Tri::False),
                        (Err(e), _) | (_, Err(e)) => Err(e),
                        (Ok(b), Ok(s)) => Ok(Tri::and(b, Tri::not(s))),
                    };
                    Res { val, height, clean }
                }
            }
        })
    }

    /// Stored relationships on `obj#relation`: a direct match, a matching wildcard, or a userset
    /// that (recursively) contains the subject. Subjects the schema no longer allows are ignored.
    async fn this(&mut self, obj: &ObjectRef, relation: &'a Relation, depth: u32) -> Res {
        if self.cond.is_some() {
            return self.this_conditional(obj, relation, depth).await;
        }
        let s = self.subject;
        let mut f = Fold::new(Tri::True);
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
            if let Some(p) = probe {
                match self.reader.exists(obj, &relation.name, &p).await {
                    Ok(true) => {
                        if let Some(done) = f.add(Res::of(self.matched(&p))) {
                            return done;
                        }
                    }
                    Ok(false) => {}
                    Err(e) => {
                        f.add(Res {
                            val: Err(e),
                            height: 0,
                            clean: false,
                        });
                    }
                }
            }
        }
        for a in &relation.allowed {
            let Some(sr) = a.relation.as_deref() else {
                continue;
            };
            let subjects = match self
                .reader
                .subjects(obj, &relation.name, &a.object_type, Some(sr))
                .await
            {
                Ok(v) => v,
                Err(e) => {
                    f.add(Res {
                        val: Err(e),
                        height: 0,
                        clean: false,
                    });
                    continue;
                }
            };
            for us in subjects {
                if us == *s {
                    continue;
                }
                // A member found backwards through plain relations is a member; the depth
                // guard keeps the answer identical to expanding forwards within the limit.
                match self.membership(&us.object, sr).await {
                    Some(Some((d, t))) if depth + 1 + d <= self.max_depth => {
                        let mut r = Res::of(t);
                        r.height = d + 1;
                        if let Some(done) = f.add(r) {
                            return done;
                        }
                        continue;
                    }
                    Some(None) => continue,
                    _ => {}
                }
                let r = self.node(us.object, sr, depth + 1).await;
                if let Some(done) = f.add(r) {
                    return done;
                }
            }
        }
        f.finish()
    }

    /// [`Checker::this`] when relationships carry caveats or expiration: each relationship
    /// counts as its condition, and a userset through it as the condition ∧ the membership.
    async fn this_conditional(
        &mut self,
        obj: &ObjectRef,
        relation: &'a Relation,
        depth: u32,
    ) -> Res {
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
                Ok(Some(rel)) if Self::fits(relation, &rel) => self
                    .holds(&rel)
                    .map(|t| Res::of(if t == Tri::True { worth } else { t })),
                Ok(Some(_)) => Ok(Res::of(Tri::False)),
                Ok(None) => Ok(Res::of(Tri::False)),
                Err(e) => Err(e),
            };
            let r = r.unwrap_or_else(|e| Res {
                val: Err(e),
                height: 0,
                clean: false,
            });
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
            if !self.leads_to_subject(t, sr) {
                continue;
            }
            let rels = match self
                .reader
                .subject_relationships(obj, &relation.name, t, Some(sr))
                .await
            {
                Ok(v) => v,
                Err(e) => {
                    f.add(Res {
                        val: Err(e),
                        height: 0,
                        clean: false,
                    });
                    continue;
                }
            };
            let rels = rels
                .into_iter()
                .filter(|rel| rel.subject != *s && Self::fits(relation, rel))
                .map(|rel| (rel, sr));
            match groups.last_mut() {
                Some(g) if recursive => g.extend(rels),
                _ => groups.push(rels.collect()),
            }
        }
        for group in groups {
            let rels: Vec<Relationship> = group.iter().map(|(r, _)| r.clone()).collect();
            let held = self.group_held(&rels);
            // The subject's own side first: where it fails, that kind fails as a whole.
            let mut failed: Vec<(String, &'a str)> = Vec::new();
            let mut tried: Vec<(String, &'a str)> = Vec::new();
            for ((rel, sr), held) in group.iter().zip(&held) {
                let k = (rel.subject.object.object_type.to_string(), *sr);
                if matches!(held, Ok(Tri::True)) && !tried.contains(&k) {
                    let r = self.subject_side(&k.0, sr).await;
                    tried.push(k.clone());
                    if !matches!(r.val, Ok(Tri::False)) {
                        failed.push(k);
                        f.add(r);
                    }
                }
            }
            for ((rel, sr), held) in group.iter().zip(held) {
                let k = (rel.subject.object.object_type.to_string(), *sr);
                if failed.contains(&k) {
                    continue;
                }
                let r = self.through(rel, held, sr, depth).await;
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
                Err(e) => {
                    return Res {
                        val: Err(e),
                        height: 0,
                        clean: false,
                    };
                }
            };
            for r in rels.iter().filter(|r| Self::fits(relation, r)) {
                match self.holds(r) {
                    Ok(Tri::Conditional) => {
                        return Res {
                            val: Ok(Tri::Conditional),
                            height: 0,
                            clean: false,
                        };
                    }
                    Err(e) => {
                        return Res {
                            val: Err(e),
                            height: 0,
                            clean: false,
                        };
                    }
                    _ => {}
                }
            }
        }
        Res::of(Tri::False)
    }

    /// Whether each relationship of a group read together holds. With strict conditions
    /// (OpenFGA), a relationship whose condition cannot be evaluated (a missing parameter, an
    /// evaluation error) does not count when another relationship of its group holds, as
    /// OpenFGA's condition-filtering iterator drops it then; otherwise it stays a failure.
    fn group_held(&mut self, rels: &[Relationship]) -> Vec<Result<Tri>> {
        let held: Vec<Result<Tri>> = rels.iter().map(|r| self.holds(r)).collect();
        let strict = self.cond.is_some_and(|c| c.strict);
        if strict && held.iter().any(|h| matches!(h, Ok(Tri::True))) {
            return held
                .into_iter()
                .map(|h| match h {
                    Ok(Tri::True) => Ok(Tri::True),
                    _ => Ok(Tri::False),
                })
                .collect();
        }
        held
    }

    /// `condition(rel) ∧ rel.subject.object#computed`, given whether `rel` holds. With strict
    /// conditions (OpenFGA) a relationship whose condition cannot be evaluated fails the path
    /// whatever the membership behind it, as OpenFGA evaluates the condition first.
    async fn through(
        &mut self,
        rel: &Relationship,
        held: Result<Tri>,
        computed: &'a str,
        depth: u32,
    ) -> Res {
        let held = match held {
            Ok(Tri::False) => return Res::of(Tri::False),
            Ok(Tri::Conditional) if self.cond.is_some_and(|c| c.strict) => {
                return Res {
                    val: Ok(Tri::Conditional),
                    height: 0,
                    clean: false,
                };
            }
            Ok(t) => t,
            Err(e) => {
                return Res {
                    val: Err(e),
                    height: 0,
                    clean: false,
                };
            }
        };
        let mut r = self
            .node(rel.subject.object.clone(), computed, depth + 1)
            .await;
        if let Ok(t) = r.val {
            r.val = Ok(Tri::and(held, t));
        }
        r
    }

    async fn arrow(
        &mut self,
        obj: &ObjectRef,
        tupleset: &'a str,
        computed: &'a str,
        kind: ArrowKind,
        depth: u32,
    ) -> Res {
        if self.cond.is_some() {
            return self
                .arrow_conditional(obj, tupleset, computed, kind, depth)
                .await;
        }
        let Some(ts) = self.schema.relation(&obj.object_type, tupleset) else {
            return Res::of(Tri::False);
        };
        let mut f = Fold::new(match kind {
            ArrowKind::Any => Tri::True,
            ArrowKind::All => Tri::False,
        });
        let mut any = false;
        for a in ts.allowed.iter().filter(|a| !a.wildcard) {
            let subjects = match self
                .reader
                .subjects(obj, tupleset, &a.object_type, a.relation.as_deref())
                .await
            {
                Ok(v) => v,
                Err(e) => {
                    f.add(Res {
                        val: Err(e),
                        height: 0,
                        clean: false,
                    });
                    continue;
                }
            };
            for target in subjects {
                any = true;
                let r = if self
                    .schema
                    .relation(&target.object.object_type, computed)
                    .is_some()
                {
                    self.node(target.object, computed, depth + 1).await
                } else {
                    Res::of(Tri::False)
                };
                if let Some(done) = f.add(r) {
                    return done;
                }
            }
        }
        if kind == ArrowKind::All && !any {
            return Res::of(Tri::False);
        }
        f.finish()
    }

    /// [`Checker::arrow`] when relationships carry caveats or expiration.
    async fn arrow_conditional(
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
        let mut f = Fold::new(match kind {
            ArrowKind::Any => Tri::True,
            ArrowKind::All => Tri::False,
        });
        let mut any = false;
        let mut kinds: Vec<(&str, Option<&str>)> = Vec::new();
        for a in ts.allowed.iter().filter(|a| !a.wildcard) {
            let k = (a.object_type.as_str(), a.relation.as_deref());
            // `.all()` needs every target, reachable or not: only `.any()` skips.
            let skip = kind == ArrowKind::Any && !self.leads_to_subject(&a.object_type, computed);
            if !kinds.contains(&k) && !skip {
                kinds.push(k);
            }
        }
        // The tupleset's relationships are one group (OpenFGA reads them in one go).
        let mut group: Vec<Relationship> = Vec::new();
        for (t, sr) in kinds {
            match self
                .reader
                .subject_relationships(obj, tupleset, t, sr)
                .await
            {
                // An expired relationship is absent; one whose caveat is false still counts
                // (as false) for `.all()`.
                Ok(v) => group.extend(
                    v.into_iter()
                        .filter(|rel| !self.expired(rel) && Self::fits(ts, rel)),
                ),
                Err(e) => {
                    f.add(Res {
                        val: Err(e),
                        height: 0,
                        clean: false,
                    });
                }
            }
        }
        let held = self.group_held(&group);
        // The subject's own side first (`.any()` only): where it fails, that target type fails.
        let mut failed: Vec<String> = Vec::new();
        let mut tried: Vec<String> = Vec::new();
        for (rel, held) in group.iter().zip(&held) {
            let t = rel.subject.object.object_type.to_string();
            if kind == ArrowKind::Any && matches!(held, Ok(Tri::True)) && !tried.contains(&t) {
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
            if failed.contains(&rel.subject.object.object_type.to_string()) {
                continue;
            }
            let r = if self
                .schema
                .relation(&rel.subject.object.object_type, computed)
                .is_some()
            {
                self.through(rel, held, computed, depth).await
            } else {
                Res::of(Tri::False)
            };
            if let Some(done) = f.add(r) {
                return done;
            }
        }
        if kind == ArrowKind::All && !any {
            return Res::of(Tri::False);
        }
        f.finish()
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
        self.require_relation(&resource.object_type, permission)?;
        self.require_subject(&subject.object.object_type, subject.relation.as_deref())?;
        self.require_consistency().await?;
        let schema = &*self.engine.schema;
        let Some(rel) = schema.relation(&resource.object_type, permission) else {
            return Ok(Permissionship::NoPermission);
        };
        if let Some(ix) = self.fast_index() {
            let max = self.engine.config.max_depth;
            let mut out = None;
            ix.read(&mut |g| {
                if g.has_conditions() {
                    return;
                }
                let cache = self.engine.schema_syms.read();
                let syms = Syms::new(g, &cache);
                let mut c = FastChecker::new(
                    schema,
                    &self.engine.reverse,
                    syms,
                    subject,
                    max,
                    &self.budget,
                );
                out = Some(c.check_root(resource, &rel.name));
                let fresh = c.into_fresh();
                drop(cache);
                self.engine.schema_syms.learn(g, fresh);
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
        if let Some(ix) = self.fast_index() {
            let max = self.engine.config.max_depth;
            let mut done = None;
            ix.read(&mut |g| {
                if g.has_conditions() {
                    return;
                }
                let cache = self.engine.schema_syms.read();
                let mut all = || -> Result<()> {
                    for (subject, idxs) in &by_subject {
                        let syms = Syms::new(g, &cache);
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
