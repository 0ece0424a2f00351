//! The synchronous fast path over a [`MemoryStore`](crate::MemoryStore)'s interned indexes:
//! `check` evaluated on symbol ids instead of strings, with exactly the semantics of `check.rs`
//! (three-valued results, cycle cuts, the depth limit, the memo, backward memberships). It runs
//! under one read lock, allocates no strings and builds no relationships.
//!
//! The engine takes it only for requests without contextual relationships, and only when the
//! recursion it implies (depth limit × rewrite nesting) fits a fixed stack budget.

mod lookup;
mod members;
mod syms;

pub(crate) use lookup::lookup_resources;
pub(crate) use syms::{SchemaSyms, Syms};

use foldhash::HashMap;

use super::budget::{Budget, Meter};
use super::reverse::ReverseIndex;
use super::tri::{Fold, Res, Tri};
use crate::error::{Error, Result};
use crate::relationship::{ObjectRef, SubjectRef};
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

/// Evaluates checks for one subject over interned ids (see `check.rs` for the semantics).
pub(crate) struct FastChecker<'a> {
    schema: &'a Schema,
    index: &'a ReverseIndex,
    pub(crate) syms: Syms<'a>,
    /// (type, id, relation or `NONE`).
    subject: [Sym; 3],
    subject_wildcard: bool,
    max_depth: u32,
    path: Vec<[Sym; 3]>,
    memo: HashMap<[Sym; 3], (bool, u32)>,
    members: Option<Members>,
    /// Schema relations by (type, relation) symbols, resolved once per request.
    /// A short list searched linearly: a request touches few distinct relations.
    relations: Vec<([Sym; 2], Option<&'a Relation>)>,
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
            max_depth,
            path: Vec::with_capacity(16),
            memo: HashMap::with_capacity_and_hasher(32, Default::default()),
            members: None,
            relations: Vec::with_capacity(16),
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
        let had_memo = !self.memo.is_empty();
        let r = self.node(obj, rel, 0);
        if r.clean || !had_memo {
            return r.val.map(|t| t == Tri::True);
        }
        let saved = std::mem::take(&mut self.memo);
        let r = self.node(obj, rel, 0);
        self.memo = saved;
        r.val.map(|t| t == Tri::True)
    }

    fn membership(&mut self, obj: Obj, rel: Sym) -> Option<Option<u32>> {
        if self.members.is_none() {
            let m = Members::compute(
                self.schema,
                self.index,
                &mut self.syms,
                self.subject,
                self.subject_wildcard,
                self.max_depth,
            );
            self.members = Some(m);
        }
        let m = self.members.as_ref()?;
        match m.distance([obj[0], obj[1], rel]) {
            Some(d) => Some(Some(d)),
            None if m.complete()
                && self
                    .index
                    .pair(self.syms.name(obj[0]), self.syms.name(rel))
                    .is_some_and(|p| p.closed) =>
            {
                Some(None)
            }
            None => None,
        }
    }

    fn node(&mut self, obj: Obj, rel: Sym, depth: u32) -> Res {
        if depth > self.max_depth {
            return Res {
                val: Err(Error::DepthExceeded {
                    limit: self.max_depth,
                }),
                height: 0,
                clean: false,
            };
        }
        if let Err(e) = self.meter.step() {
            return Res {
                val: Err(e),
                height: 0,
                clean: false,
            };
        }
        if self.subject[2] == rel && self.subject[0] == obj[0] && self.subject[1] == obj[1] {
            return Res::of(Tri::True);
        }
        let key = [obj[0], obj[1], rel];
        if let Some(&(v, h)) = self.memo.get(&key)
            && depth.saturating_add(h) <= self.max_depth
        {
            let mut r = Res::of(if v { Tri::True } else { Tri::False });
            r.height = h;
            return r;
        }
        if self.path.contains(&key) {
            return Res {
                val: Ok(Tri::Unknown),
                height: 0,
                clean: false,
            };
        }
        let Some(relation) = self.relation(obj[0], rel) else {
            return Res::of(Tri::False);
        };
        self.path.push(key);
        let mut r = self.rewrite(obj, relation, &relation.rewrite, depth);
        self.path.pop();
        r.height = r.height.saturating_add(1);
        if let (true, Ok(t @ (Tri::True | Tri::False))) = (r.clean, &r.val) {
            self.memo.insert(key, (*t == Tri::True, r.height));
        }
        r
    }

    fn rewrite(&mut self, obj: Obj, relation: &'a Relation, rw: &'a Rewrite, depth: u32) -> Res {
        match rw {
            Rewrite::Nil => Res::of(Tri::False),
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
            Rewrite::Union(children) => {
                let mut f = Fold::new(Tri::True);
                for c in children {
                    let r = self.rewrite(obj, relation, c, depth);
                    if let Some(done) = f.add(r) {
                        return done;
                    }
                }
                f.finish()
            }
            Rewrite::Intersection(children) => {
                let mut f = Fold::new(Tri::False);
                for c in children {
                    let r = self.rewrite(obj, relation, c, depth);
                    if let Some(done) = f.add(r) {
                        return done;
                    }
                }
                f.finish()
            }
            Rewrite::Exclusion(base, sub) => {
                let b = self.rewrite(obj, relation, base, depth);
                if matches!(b.val, Ok(Tri::False)) {
                    return b;
                }
                let s = self.rewrite(obj, relation, sub, depth);
                let height = b.height.max(s.height);
                let clean = b.clean && s.clean;
                let val = match (b.val, s.val) {
                    (_, Ok(Tri::True)) => Ok(Tri::False),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                    (Ok(Tri::Unknown), _) | (_, Ok(Tri::Unknown)) => Ok(Tri::Unknown),
                    (Ok(x), Ok(_)) => Ok(x),
                };
                Res { val, height, clean }
            }
        }
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
            if !kinds.contains(&[at, srs]) {
                continue;
            }
            for &id in store.subject_ids(&[obj[0], obj[1], rel, at, srs]) {
                if [at, id, srs] == s {
                    continue;
                }
                match self.membership([at, id], srs) {
                    Some(Some(d)) if depth + 1 + d <= self.max_depth => {
                        let mut r = Res::of(Tri::True);
                        r.height = d + 1;
                        return r;
                    }
                    Some(None) => continue,
                    _ => {}
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
        let mut f = Fold::new(match kind {
            ArrowKind::Any => Tri::True,
            ArrowKind::All => Tri::False,
        });
        let mut any = false;
        for a in ts.allowed.iter().filter(|a| !a.wildcard) {
            let at = self.syms.sym(&a.object_type);
            let ar = self.rel_sym(a.relation.as_deref());
            let has_computed = self.relation(at, cs).is_some();
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
        if kind == ArrowKind::All && !any {
            return Res::of(Tri::False);
        }
        f.finish()
    }

    /// The schema relation `type#relation`, by symbols.
    fn relation(&mut self, t: Sym, r: Sym) -> Option<&'a Relation> {
        if let Some(&(_, x)) = self.relations.iter().find(|e| e.0 == [t, r]) {
            return x;
        }
        let x = self.schema.relation(self.syms.name(t), self.syms.name(r));
        if self.relations.len() < 64 {
            self.relations.push(([t, r], x));
        }
        x
    }

    fn rel_sym(&mut self, r: Option<&'a str>) -> Sym {
        r.map_or(NONE, |r| self.syms.sym(r))
    }
}
