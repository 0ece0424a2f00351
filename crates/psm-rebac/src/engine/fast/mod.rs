//! The synchronous fast path over a store's interned read index (what a
//! [`MemoryStore`](crate::MemoryStore) offers): `check` evaluated on symbol ids instead of
//! strings, driving the same rules as `check.rs` (`rules.rs`: three-valued results, cycle cuts,
//! the depth limit, the memo) plus the backward memberships. It runs under one read lock,
//! allocates no strings and builds no relationships; it is taken only when no relationship
//! carries a condition, so every stored relationship holds.
//!
//! The engine takes it only for requests without contextual relationships, and only when the
//! recursion it implies (depth limit × rewrite nesting) fits a fixed stack budget.

mod lookup;
mod members;
mod syms;

pub(crate) use lookup::lookup_resources;
pub(crate) use syms::{SchemaSyms, Syms};

use super::budget::{Budget, Meter};
use super::reverse::ReverseIndex;
use super::rules::{self, Walk, combine_rewrite};
use super::tri::{Fold, Res, Tri};
use crate::error::Result;
use crate::relationship::{ObjectRef, SubjectRef};
use crate::schema::analysis::Reaching;
use crate::schema::{ArrowKind, Relation, Rewrite, Schema};
use crate::store::capability::{NO_RELATION as NONE, Sym};
use members::Members;

/// An object as (type, id) symbols.
pub(crate) type Obj = [Sym; 2];

/// How many nested evaluation frames (depth limit × (rewrite nesting + 2)) the fast path may
/// recurse through; deeper configurations use the heap-allocated async path.
const FRAME_BUDGET: u64 = 1024;

/// Whether the fast path's recursion for this schema and depth limit fits the stack budget.
pub(crate) fn fits_stack(schema: &Schema, max_depth: u32) -> bool {
    let nesting = schema
        .definitions()
        .iter()
        .flat_map(|d| &d.relations)
        .map(|r| nesting(&r.rewrite))
        .max()
        .unwrap_or(0);
    (u64::from(max_depth) + 1).saturating_mul(nesting.saturating_add(2)) <= FRAME_BUDGET
}

fn nesting(rw: &Rewrite) -> u64 {
    match rw {
        Rewrite::Union(c) | Rewrite::Intersection(c) => {
            1 + c.iter().map(nesting).max().unwrap_or(0)
        }
        Rewrite::Exclusion(a, b) => 1 + nesting(a).max(nesting(b)),
        _ => 1,
    }
}

/// What the backward walk knows about a userset.
enum Known {
    /// The subject is a member, this many nodes down.
    Member(u32),
    /// The subject is certainly not a member.
    NotMember,
    /// The walk cannot tell.
    Unknown,
}

/// Evaluates checks for one subject over interned ids (see `check.rs` for the semantics).
pub(crate) struct FastChecker<'a> {
    schema: &'a Schema,
    index: &'a ReverseIndex,
    pub(crate) syms: Syms<'a>,
    /// (type, id, relation or `NONE`).
    subject: [Sym; 3],
    subject_wildcard: bool,
    walk: Walk<[Sym; 3]>,
    members: Option<Members>,
    /// Schema relations by (type, relation) symbols, resolved once per request, with whether
    /// they can hold the subject's kind. A short list searched linearly: a request touches few
    /// distinct relations.
    relations: Vec<([Sym; 2], Option<&'a Relation>, bool)>,
    /// Relations that can hold the subject's kind (the schema analysis's, computed once).
    reach: Reaching<'a>,
    /// The request's budget: every evaluated node is a step, charged in batches.
    meter: Meter<'a>,
}

impl<'a> FastChecker<'a> {
    pub(crate) fn new(
        schema: &'a Schema,
        index: &'a ReverseIndex,
        mut syms: Syms<'a>,
        subject: &'a SubjectRef,
        max_depth: u32,
        budget: &'a Budget,
    ) -> Self {
        let s = [
            syms.sym_request(&subject.object.object_type),
            syms.sym_request(&subject.object.object_id),
            subject
                .relation
                .as_deref()
                .map_or(NONE, |r| syms.sym_request(r)),
        ];
        Self {
            schema,
            index,
            syms,
            subject: s,
            subject_wildcard: subject.is_wildcard(),
            walk: Walk::new(max_depth),
            members: None,
            relations: Vec::with_capacity(16),
            reach: index
                .analysis
                .reaching(&subject.object.object_type, subject.relation.as_deref()),
            meter: Meter::new(budget),
        }
    }

    /// The symbols this checker interned, for the schema cache; charges the steps not yet
    /// charged to the budget.
    pub(crate) fn into_fresh(self) -> Vec<syms::Fresh> {
        let Self { syms, meter, .. } = self;
        drop(meter);
        syms.into_fresh()
    }

    /// Answers `resource#rel` for this checker's subject.
    pub(crate) fn check_root(&mut self, resource: &'a ObjectRef, rel: &'a str) -> Result<bool> {
        let obj = [
            self.syms.sym_request(&resource.object_type),
            self.syms.sym_request(&resource.object_id),
        ];
        let rel = self.syms.sym(rel);
        self.check_root_syms(obj, rel)
    }

    /// Answers one root question. Reuses the memo; redoes the evaluation with an empty memo if
    /// the memoised run met a cycle cut or an error (as `Checker::check_root` does).
    pub(crate) fn check_root_syms(&mut self, obj: Obj, rel: Sym) -> Result<bool> {
        let had_memo = self.walk.has_memo();
        let r = self.node(obj, rel, 0);
        if r.clean || !had_memo {
            return r.val.map(|t| t == Tri::True);
        }
        let saved = self.walk.set_aside();
        let r = self.node(obj, rel, 0);
        self.walk.restore(saved);
        r.val.map(|t| t == Tri::True)
    }

    /// What the backward walk knows about `obj#rel`: `Some(d)` a member at distance `d`,
    /// `None` certainly not a member (closed relation, complete walk), unknown otherwise. The
    /// walk is charged to the request's budget; going past it is the error.
    fn membership(&mut self, obj: Obj, rel: Sym) -> Result<Known> {
        if self.members.is_none() {
            let m = Members::compute(
                self.schema,
                self.index,
                &mut self.syms,
                (self.subject, self.subject_wildcard),
                self.walk.max_depth,
                &mut self.meter,
            )?;
            self.members = Some(m);
        }
        let Some(m) = self.members.as_ref() else {
            return Ok(Known::Unknown);
        };
        Ok(match m.distance([obj[0], obj[1], rel]) {
            Some(d) => Known::Member(d),
            None if m.complete()
                && self
                    .index
                    .pair(self.syms.name(obj[0]), self.syms.name(rel))
                    .is_some_and(|p| p.closed) =>
            {
                Known::NotMember
            }
            None => Known::Unknown,
        })
    }

    fn node(&mut self, obj: Obj, rel: Sym, depth: u32) -> Res {
        // A relation that cannot hold the subject's kind is false, at any depth (as in
        // `check.rs`, which does not even read such relationships).
        let (Some(relation), true) = self.relation_reach(obj[0], rel) else {
            return Res::of(Tri::False);
        };
        if let Some(r) = self.walk.too_deep(depth) {
            return r;
        }
        if let Err(e) = self.meter.step() {
            return rules::failed(e);
        }
        if self.subject[2] == rel && self.subject[0] == obj[0] && self.subject[1] == obj[1] {
            return Res::of(Tri::True);
        }
        let key = [obj[0], obj[1], rel];
        let (schema, index, syms) = (self.schema, self.index, &self.syms);
        let cut = || rules::cycle_cut(schema, index, false, syms.name(obj[0]), syms.name(rel));
        if let Some(r) = self.walk.recall(&key, depth, cut) {
            return r;
        }
        self.walk.enter(key);
        let r = self.rewrite(obj, relation, &relation.rewrite, depth);
        self.walk.leave(r)
    }

    fn rewrite(&mut self, obj: Obj, relation: &'a Relation, rw: &'a Rewrite, depth: u32) -> Res {
        combine_rewrite!(rw,
            c => self.rewrite(obj, relation, c, depth),
            leaf => match leaf {
                Rewrite::This => self.this(obj, relation, depth),
                Rewrite::Computed { relation: c, .. } => {
                    let c = self.syms.sym(c);
                    self.node(obj, c, depth + 1)
                }
                Rewrite::Arrow {
                    tupleset,
                    computed,
                    kind,
                    ..
                } => self.arrow(obj, tupleset, computed, *kind, depth),
                _ => Res::of(Tri::False),
            }
        )
    }

    /// Stored relationships on `obj#relation`: a direct match, a matching wildcard, or a userset
    /// that (recursively) contains the subject.
    fn this(&mut self, obj: Obj, relation: &'a Relation, depth: u32) -> Res {
        let store = self.syms.store();
        let rel = self.syms.sym(&relation.name);
        // One probe says which subject kinds are stored here; most objects have none.
        let kinds = store.subject_kinds(&[obj[0], obj[1], rel]);
        if kinds.is_empty() {
            return Res::of(Tri::False);
        }
        let s = self.subject;
        for a in &relation.allowed {
            if self.syms.sym(&a.object_type) != s[0] {
                continue;
            }
            let probe = if a.wildcard {
                (s[2] == NONE).then(|| [s[0], self.syms.sym("*"), NONE])
            } else if self.rel_sym(a.relation.as_deref()) == s[2] && !self.subject_wildcard {
                Some(s)
            } else {
                None
            };
            if let Some(p) = probe
                && kinds.contains(&[p[0], p[2]])
                && store.has(&[obj[0], obj[1], rel, p[0], p[1], p[2]])
            {
                return Res::of(Tri::True);
            }
        }
        let mut f = Fold::new(Tri::True);
        for a in &relation.allowed {
            let Some(sr) = a.relation.as_deref() else {
                continue;
            };
            let (at, srs) = (self.syms.sym(&a.object_type), self.syms.sym(sr));
            // A kind that cannot hold the subject is pruned in `node` (the memberships never
            // reach it either): no condition to skip on this path.
            if !kinds.contains(&[at, srs]) {
                continue;
            }
            for &id in store.subject_ids(&[obj[0], obj[1], rel, at, srs]) {
                if [at, id, srs] == s {
                    continue;
                }
                match self.membership([at, id], srs) {
                    Ok(Known::Member(d)) if depth + 1 + d <= self.walk.max_depth => {
                        return rules::found_at(Tri::True, d + 1);
                    }
                    Ok(Known::NotMember) => continue,
                    Ok(_) => {}
                    Err(e) => return rules::failed(e),
                }
                let r = self.node([at, id], srs, depth + 1);
                if let Some(done) = f.add(r) {
                    return done;
                }
            }
        }
        f.finish()
    }

    fn arrow(
        &mut self,
        obj: Obj,
        tupleset: &'a str,
        computed: &'a str,
        kind: ArrowKind,
        depth: u32,
    ) -> Res {
        let (tss, cs) = (self.syms.sym(tupleset), self.syms.sym(computed));
        let Some(ts) = self.relation(obj[0], tss) else {
            return Res::of(Tri::False);
        };
        let store = self.syms.store();
        let mut f = rules::arrow_fold(kind);
        let mut any = false;
        for a in ts.allowed.iter().filter(|a| !a.wildcard) {
            let at = self.syms.sym(&a.object_type);
            let ar = self.rel_sym(a.relation.as_deref());
            let (target, reaches) = self.relation_reach(at, cs);
            // `.all()` needs every target, reachable or not: only `.any()` skips.
            if kind == ArrowKind::Any && !reaches {
                continue;
            }
            let has_computed = target.is_some();
            for &id in store.subject_ids(&[obj[0], obj[1], tss, at, ar]) {
                any = true;
                let r = if has_computed {
                    self.node([at, id], cs, depth + 1)
                } else {
                    Res::of(Tri::False)
                };
                if let Some(done) = f.add(r) {
                    return done;
                }
            }
        }
        rules::arrow_finish(f, kind, any)
    }

    /// The schema relation `type#relation`, by symbols.
    fn relation(&mut self, t: Sym, r: Sym) -> Option<&'a Relation> {
        self.relation_reach(t, r).0
    }

    /// The schema relation `type#relation`, by symbols, and whether it can hold the subject's
    /// kind.
    fn relation_reach(&mut self, t: Sym, r: Sym) -> (Option<&'a Relation>, bool) {
        if let Some(&(_, x, reach)) = self.relations.iter().find(|e| e.0 == [t, r]) {
            return (x, reach);
        }
        let analysis = &*self.index.analysis;
        let (x, reach) = match analysis.node_id(self.syms.name(t), self.syms.name(r)) {
            Some(n) => (analysis.relation_of(self.schema, n), self.reach.has_node(n)),
            None => (None, false),
        };
        if self.relations.len() < 64 {
            self.relations.push(([t, r], x, reach));
        }
        (x, reach)
    }

    fn rel_sym(&mut self, r: Option<&'a str>) -> Sym {
        r.map_or(NONE, |r| self.syms.sym(r))
    }
}
