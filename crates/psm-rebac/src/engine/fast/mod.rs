//! The synchronous fast path over a store's interned read index (what a
//! [`MemoryStore`](crate::MemoryStore) offers): `check` evaluated on symbol ids instead of
//! strings, driving the same rules as `check.rs` (`rules.rs`: three-valued results, cycle cuts,
//! the depth limit, the memo) plus the backward memberships. It runs under one read lock,
//! allocates no strings and builds no relationships; it is taken only when no relationship
//! carries a condition, so every stored relationship holds.
//!
//! The engine takes it only for requests without contextual relationships, and only when the
//! recursion it implies (depth limit × rewrite nesting) fits a fixed stack budget.

mod compiled;
mod lookup;
mod members;
mod syms;

pub(crate) use compiled::SchemaSyms;
pub(crate) use lookup::lookup_resources;
pub(crate) use syms::Syms;

use super::budget::{Budget, Meter};
use super::reverse::ReverseIndex;
use super::rules::{self, Walk, combine_rewrite};
use super::tri::{Fold, Res, Tri};
use crate::error::Result;
use crate::relationship::{ObjectRef, SubjectRef};
use crate::schema::analysis::Reaching;
use crate::schema::{ArrowKind, Rewrite, Schema};
use crate::store::capability::{NO_RELATION as NONE, Sym};
use compiled::{ArrowTarget, Compiled, Leaf, NodeId, NodeInfo};
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
    /// The schema on the store's symbols.
    compiled: &'a Compiled,
    /// (type, id, relation or `NONE`).
    subject: [Sym; 3],
    subject_wildcard: bool,
    walk: Walk<[Sym; 3]>,
    members: Option<Members>,
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
            compiled: syms.compiled(),
            syms,
            subject: s,
            subject_wildcard: subject.is_wildcard(),
            walk: Walk::new(max_depth),
            members: None,
            reach: index
                .analysis
                .reaching(&subject.object.object_type, subject.relation.as_deref()),
            meter: Meter::new(budget),
        }
    }

    /// Answers `resource#rel` for this checker's subject.
    pub(crate) fn check_root(&mut self, resource: &'a ObjectRef, rel: &'a str) -> Result<bool> {
        let obj = [
            self.syms.sym_request(&resource.object_type),
            self.syms.sym_request(&resource.object_id),
        ];
        let node = self.node_of(&resource.object_type, rel);
        self.check_root_node(obj, node)
    }

    /// The relation `type#relation` of the schema, by names.
    pub(crate) fn node_of(&self, object_type: &str, relation: &str) -> Option<NodeId> {
        self.index
            .analysis
            .node_id(object_type, relation)
            .and_then(|n| NodeId::try_from(n).ok())
    }

    /// Answers one root question on `obj#node`. Reuses the memo; redoes the evaluation with an
    /// empty memo if the memoised run met a cycle cut or an error (as `Checker::check_root`
    /// does).
    pub(crate) fn check_root_node(&mut self, obj: Obj, node: Option<NodeId>) -> Result<bool> {
        let had_memo = self.walk.has_memo();
        let r = self.node_opt(obj, node, 0);
        if r.clean || !had_memo {
            return r.val.map(|t| t == Tri::True);
        }
        let saved = self.walk.set_aside();
        let r = self.node_opt(obj, node, 0);
        self.walk.restore(saved);
        r.val.map(|t| t == Tri::True)
    }

    /// What the backward walk knows about `obj#rel` (a relation that is a closed plain
    /// relation when `closed`): `Some(d)` a member at distance `d`, `None` certainly not a
    /// member (closed relation, complete walk), unknown otherwise. The walk is charged to the
    /// request's budget; going past it is the error.
    fn membership(&mut self, obj: Obj, rel: Sym, closed: bool) -> Result<Known> {
        if self.members.is_none() {
            let m = Members::compute(
                self.compiled,
                &self.syms,
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
            None if m.complete() && closed => Known::NotMember,
            None => Known::Unknown,
        })
    }

    /// `obj#node`, false for a relation the schema lacks.
    #[inline]
    fn node_opt(&mut self, obj: Obj, node: Option<NodeId>, depth: u32) -> Res {
        match node {
            Some(n) => self.node(obj, n, depth),
            None => Res::of(Tri::False),
        }
    }

    fn node(&mut self, obj: Obj, n: NodeId, depth: u32) -> Res {
        // A relation that cannot hold the subject's kind is false, at any depth (as in
        // `check.rs`, which does not even read such relationships).
        let compiled = self.compiled;
        let (Some(info), Some(relation), true) = (
            compiled.nodes.get(n as usize),
            self.index.analysis.relation_of(self.schema, n as usize),
            self.reach.has_node(n as usize),
        ) else {
            return Res::of(Tri::False);
        };
        if let Some(r) = self.walk.too_deep(depth) {
            return r;
        }
        if let Err(e) = self.meter.step() {
            return rules::failed(e);
        }
        let rel = info.rel;
        if self.subject[2] == rel && self.subject[0] == obj[0] && self.subject[1] == obj[1] {
            return Res::of(Tri::True);
        }
        let key = [obj[0], obj[1], rel];
        let closed = info.closed;
        let cut = || if closed { Tri::False } else { Tri::Unknown };
        if let Some(r) = self.walk.recall(&key, depth, cut) {
            return r;
        }
        self.walk.enter(key);
        let r = self.rewrite(obj, info, &relation.rewrite, depth);
        self.walk.leave(r)
    }

    fn rewrite(&mut self, obj: Obj, info: &'a NodeInfo, rw: &'a Rewrite, depth: u32) -> Res {
        combine_rewrite!(rw,
            c => self.rewrite(obj, info, c, depth),
            leaf => match leaf {
                Rewrite::This => self.this(obj, info, depth),
                Rewrite::Computed { .. } | Rewrite::Arrow { .. } => match info.leaf(leaf) {
                    Some(Leaf::Computed(c)) => self.node_opt(obj, *c, depth + 1),
                    Some(Leaf::Arrow { ts, has_ts, kind, targets }) => {
                        if !*has_ts {
                            return Res::of(Tri::False);
                        }
                        self.arrow(obj, *ts, targets, *kind, depth)
                    }
                    None => Res::of(Tri::False),
                },
                _ => Res::of(Tri::False),
            }
        )
    }

    /// Stored relationships on `obj#relation`: a direct match, a matching wildcard, or a userset
    /// that (recursively) contains the subject.
    fn this(&mut self, obj: Obj, info: &'a NodeInfo, depth: u32) -> Res {
        let store = self.syms.store();
        let rel = info.rel;
        // One probe says which subject kinds are stored here; most objects have none.
        let kinds = store.subject_kinds(&[obj[0], obj[1], rel]);
        if kinds.is_empty() {
            return Res::of(Tri::False);
        }
        let s = self.subject;
        for a in &info.allowed {
            if a.ty != s[0] {
                continue;
            }
            let probe = if a.wildcard {
                (s[2] == NONE).then(|| [s[0], self.compiled.star, NONE])
            } else if a.rel == s[2] && !self.subject_wildcard {
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
        for a in &info.allowed {
            if a.rel == NONE {
                continue;
            }
            let (at, srs) = (a.ty, a.rel);
            // A kind that cannot hold the subject is pruned in `node` (the memberships never
            // reach it either): no condition to skip on this path.
            if !kinds.contains(&[at, srs]) {
                continue;
            }
            let closed = a
                .node
                .and_then(|n| self.compiled.nodes.get(n as usize))
                .is_some_and(|i| i.closed);
            for &id in store.subject_ids(&[obj[0], obj[1], rel, at, srs]) {
                if [at, id, srs] == s {
                    continue;
                }
                match self.membership([at, id], srs, closed) {
                    Ok(Known::Member(d)) if depth + 1 + d <= self.walk.max_depth => {
                        return rules::found_at(Tri::True, d + 1);
                    }
                    Ok(Known::NotMember) => continue,
                    Ok(_) => {}
                    Err(e) => return rules::failed(e),
                }
                let r = self.node_opt([at, id], a.node, depth + 1);
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
        tss: Sym,
        targets: &'a [ArrowTarget],
        kind: ArrowKind,
        depth: u32,
    ) -> Res {
        let store = self.syms.store();
        let mut f = rules::arrow_fold(kind);
        let mut any = false;
        for t in targets {
            let reaches = t.node.is_some_and(|n| self.reach.has_node(n as usize));
            // `.all()` needs every target, reachable or not: only `.any()` skips.
            if kind == ArrowKind::Any && !reaches {
                continue;
            }
            for &id in store.subject_ids(&[obj[0], obj[1], tss, t.ty, t.rel]) {
                any = true;
                let r = self.node_opt([t.ty, id], t.node, depth + 1);
                if let Some(done) = f.add(r) {
                    return done;
                }
            }
        }
        rules::arrow_finish(f, kind, any)
    }
}
