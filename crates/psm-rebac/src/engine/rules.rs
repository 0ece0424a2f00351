//! The rules of rewrite evaluation, written once and driven by every evaluator: the async
//! checker (`check.rs`), the synchronous interned-index evaluator (`fast/`), the lookups
//! (`lookup.rs`, `fast/lookup.rs`), the backward membership walks and expand.
//!
//! Semantics. A node `object#relation` evaluates to true, false, or *unknown* when the
//! evaluation re-enters a node already on the current path (a cycle). Union, intersection and
//! exclusion combine these with Kleene logic (true dominates a union, false an intersection);
//! a request whose answer is unknown is answered `false`, as OpenFGA does. Errors (depth,
//! budget) are dominated the same way, so the answer never depends on the order branches are
//! visited. An arrow `tupleset->computed` is the union (`.any()`) or the intersection (`.all()`,
//! false when the tupleset is empty) of `computed` on every object the tupleset names.
//!
//! Conditions. A stored relationship counts only when the relation still allows its subject's
//! kind, caveat and expiration ([`fits`]); it then holds as its condition: false once expired,
//! otherwise its caveat's outcome (true, false, or conditional on parameters nobody supplied).
//! A relationship without caveat or expiration — every relationship when the schema has
//! neither — holds; the unconditional evaluation is the conditional one with no conditions.
//! A userset or arrow step through a relationship is the relationship's condition ∧ the
//! membership behind it.
//!
//! Pruning. A relation that cannot hold the subject's kind at all (the schema analysis's
//! `reaching`, computed once per schema: OpenFGA's type graph) is false whatever its
//! relationships: every evaluator answers it false before anything else (the depth limit
//! included), and the async checker does not read its relationships (so their conditions are not
//! evaluated). A cycle cut or a depth error inside such a branch therefore never makes one path
//! unknown (or an error) where another is false.
//!
//! Cycle cuts. A cycle cut at a *closed plain relation* (exactly its stored relationships, its
//! userset subject types closed plain relations too) answers false: membership in it is
//! reachability, the least fixpoint, every cycle through it stays among closed plain relations
//! (a positive system), and evaluating such a system with the nodes on the path taken as false
//! gives the exact value of the node where the walk entered it (a shortest derivation never
//! repeats a node). This is what the backward membership walk of the unconditional path proves
//! (a closed userset it did not reach holds no member), so the paths with and without
//! conditions answer alike: an exclusion of an empty membership cycle subtracts nothing. Any
//! other cut is unknown. OpenFGA (strict conditions) cuts as OpenFGA reports cycles: false at a
//! relation whose one userset is itself, unknown elsewhere. One function decides ([`cycle_cut`])
//! for every evaluator.
//!
//! Memo. A definite result whose evaluation met no cycle cut and no error does not depend on
//! the path that led to it, so it is cached with the height of its subtree and reused wherever
//! the remaining depth budget covers that height ([`Walk`]). A root evaluation that met a cut is
//! redone with an empty memo, so a check answers exactly what a fresh single check answers.

use std::collections::BTreeSet;
use std::hash::Hash;

use foldhash::HashMap;

use super::reverse::ReverseIndex;
use super::tri::{Fold, Res, Tri};
use crate::caveat::{CaveatContext, Caveats, Outcome, StoredContext};
use crate::error::{Error, Result};
use crate::relationship::Relationship;
use crate::schema::{ArrowKind, Relation, Rewrite, Schema};

/// Combines a union, an intersection or an exclusion of `rw` from its children's results, and
/// hands every other rewrite to `$leaf`. `$child => $eval` evaluates one child (an expression
/// that may `.await`); a child that decides the result returns it from the enclosing function
/// (or async block). The one definition of the rewrite algebra, for sync and async evaluators.
macro_rules! combine_rewrite {
    ($rw:expr, $child:ident => $eval:expr, $leaf:ident => $leaf_eval:expr) => {
        match $rw {
            $crate::schema::Rewrite::Union(children) => {
                let mut f = $crate::engine::tri::Fold::new($crate::engine::tri::Tri::True);
                for $child in children {
                    if let Some(done) = f.add($eval) {
                        return done;
                    }
                }
                f.finish()
            }
            $crate::schema::Rewrite::Intersection(children) => {
                let mut f = $crate::engine::tri::Fold::new($crate::engine::tri::Tri::False);
                for $child in children {
                    if let Some(done) = f.add($eval) {
                        return done;
                    }
                }
                f.finish()
            }
            $crate::schema::Rewrite::Exclusion(base, sub) => {
                let b = {
                    let $child = &**base;
                    $eval
                };
                if matches!(b.val, Ok($crate::engine::tri::Tri::False)) {
                    return b;
                }
                let s = {
                    let $child = &**sub;
                    $eval
                };
                $crate::engine::rules::exclusion(b, s)
            }
            $leaf => $leaf_eval,
        }
    };
}
pub(crate) use combine_rewrite;

/// `base − sub` from both results: excluded when `sub` holds (even through a wildcard),
/// otherwise an error, otherwise `base ∧ ¬sub` in Kleene logic.
#[inline]
pub(crate) fn exclusion(b: Res, s: Res) -> Res {
    let height = b.height.max(s.height);
    let clean = b.clean && s.clean;
    let val = match (b.val, s.val) {
        (_, Ok(Tri::True | Tri::Wild)) => Ok(Tri::False),
        (Err(e), _) | (_, Err(e)) => Err(e),
        (Ok(b), Ok(s)) => Ok(Tri::and(b, Tri::not(s))),
    };
    Res { val, height, clean }
}

/// The fold of an arrow's targets: a union for `.any()`, an intersection for `.all()`.
#[inline]
pub(crate) fn arrow_fold(kind: ArrowKind) -> Fold {
    Fold::new(match kind {
        ArrowKind::Any => Tri::True,
        ArrowKind::All => Tri::False,
    })
}

/// An arrow's result once every target was folded: `.all()` over no target is false.
#[inline]
pub(crate) fn arrow_finish(f: Fold, kind: ArrowKind, any_target: bool) -> Res {
    if kind == ArrowKind::All && !any_target {
        return Res::of(Tri::False);
    }
    f.finish()
}

/// A result decided by an error: not clean, so never memoised.
#[inline]
pub(crate) fn failed(e: Error) -> Res {
    Res {
        val: Err(e),
        height: 0,
        clean: false,
    }
}

/// A result that is definite but depends on the path (a cycle cut, or a condition that must
/// not be memoised).
#[inline]
pub(crate) fn unclean(t: Tri) -> Res {
    Res {
        val: Ok(t),
        height: 0,
        clean: false,
    }
}

/// True at `height` (a member found by a backward walk `height` nodes down).
#[inline]
pub(crate) fn found_at(t: Tri, height: u32) -> Res {
    let mut r = Res::of(t);
    r.height = height;
    r
}

/// The depth error, when a node at `depth` is past the limit (the root is at depth 0).
#[inline]
pub(crate) fn too_deep(depth: u32, max_depth: u32) -> Option<Error> {
    // Not `then_some`: that builds (and drops) the error on every node.
    if depth > max_depth {
        Some(Error::DepthExceeded { limit: max_depth })
    } else {
        None
    }
}

/// What a cycle cut at `object_type#relation` answers (see the header). Without strict
/// conditions: false at a closed plain relation, unknown elsewhere. With strict conditions
/// (OpenFGA): false only at a relation that is directly assigned and whose one userset is
/// itself (`rel: [user, folder#rel]`, which OpenFGA walks from the subject's side and sees no
/// member), unknown at any other cycle, as OpenFGA reports it and an exclusion of it denies.
pub(crate) fn cycle_cut(
    schema: &Schema,
    index: &ReverseIndex,
    strict: bool,
    object_type: &str,
    relation: &str,
) -> Tri {
    let cut_false = if strict {
        schema.relation(object_type, relation).is_some_and(|r| {
            let mut usersets = r.allowed.iter().filter(|a| a.relation.is_some());
            matches!(r.rewrite, Rewrite::This)
                && usersets.next().is_some_and(|a| {
                    a.object_type == object_type && a.relation.as_deref() == Some(relation)
                })
                && usersets.next().is_none()
        })
    } else {
        index.pair(object_type, relation).is_some_and(|p| p.closed)
    };
    if cut_false { Tri::False } else { Tri::Unknown }
}

/// How many memo entries are searched linearly before the memo becomes a hash map.
const SMALL_MEMO: usize = 16;

/// The memo of a [`Walk`]: definite results by node, with their height. A short list searched
/// linearly (a request memoises few nodes: no hashing, one allocation), moved into a hash map
/// once it outgrows it.
#[derive(Debug)]
pub(crate) struct Memo<K> {
    small: Vec<(K, (bool, u32))>,
    map: HashMap<K, (bool, u32)>,
}

impl<K: Eq + Hash> Memo<K> {
    fn new() -> Self {
        Self {
            small: Vec::new(),
            map: HashMap::default(),
        }
    }

    /// `key`'s entry: in the list, the last one set (see `insert`).
    #[inline]
    fn get(&self, key: &K) -> Option<&(bool, u32)> {
        if self.map.is_empty() {
            self.small.iter().rev().find(|e| e.0 == *key).map(|e| &e.1)
        } else {
            self.map.get(key)
        }
    }

    /// Sets `key`'s entry, replacing an earlier one as a map insert does: in the list the new
    /// entry is appended and hides the earlier one (lookups search from the end; the move into
    /// the map inserts in order, so the last one wins there too). A key is set again only when
    /// its memoised height no longer fitted the remaining depth, which is rare.
    #[inline]
    fn insert(&mut self, key: K, v: (bool, u32)) {
        if self.map.is_empty() {
            if self.small.len() < SMALL_MEMO {
                if self.small.capacity() == 0 {
                    self.small.reserve_exact(SMALL_MEMO);
                }
                self.small.push((key, v));
                return;
            }
            self.map.extend(self.small.drain(..));
        }
        self.map.insert(key, v);
    }

    fn is_empty(&self) -> bool {
        self.small.is_empty() && self.map.is_empty()
    }
}

/// The path, the memo and the depth limit of one evaluator, for any node key: what is done on
/// entering and on leaving a node.
#[derive(Debug)]
pub(crate) struct Walk<K> {
    pub(crate) max_depth: u32,
    path: Vec<K>,
    memo: Memo<K>,
}

impl<K: Eq + Hash + Clone> Walk<K> {
    #[inline]
    pub(crate) fn new(max_depth: u32) -> Self {
        Self {
            max_depth,
            path: Vec::with_capacity(16),
            memo: Memo::new(),
        }
    }

    /// The depth error, when `depth` is past the limit.
    #[inline]
    pub(crate) fn too_deep(&self, depth: u32) -> Option<Res> {
        too_deep(depth, self.max_depth).map(failed)
    }

    /// What is known of `key` before evaluating it: a memoised result whose height fits the
    /// remaining depth, or, when it is already on the path, a cycle cut worth `cut()` (asked
    /// only then; [`cycle_cut`] for every evaluator). A cut is never clean: nothing evaluated
    /// below it is memoised.
    #[inline]
    pub(crate) fn recall(&self, key: &K, depth: u32, cut: impl FnOnce() -> Tri) -> Option<Res> {
        if let Some(&(v, h)) = self.memo.get(key)
            && depth.saturating_add(h) <= self.max_depth
        {
            return Some(found_at(if v { Tri::True } else { Tri::False }, h));
        }
        if !self.path.contains(key) {
            return None;
        }
        Some(unclean(cut()))
    }

    /// Enters `key` (it is on the path until [`leave`](Self::leave)).
    #[inline]
    pub(crate) fn enter(&mut self, key: K) {
        self.path.push(key);
    }

    /// Leaves the node entered last with its rewrite's result: one level higher, memoised when
    /// clean and definite.
    #[inline]
    pub(crate) fn leave(&mut self, mut r: Res) -> Res {
        let key = self.path.pop();
        r.height = r.height.saturating_add(1);
        if let (true, Ok(t @ (Tri::True | Tri::False)), Some(key)) = (r.clean, &r.val, key) {
            self.memo.insert(key, (*t == Tri::True, r.height));
        }
        r
    }

    /// Whether earlier roots left results in the memo.
    pub(crate) fn has_memo(&self) -> bool {
        !self.memo.is_empty()
    }

    /// Sets the memo aside (for a root redone from scratch), to be put back with
    /// [`restore`](Self::restore).
    pub(crate) fn set_aside(&mut self) -> Memo<K> {
        std::mem::replace(&mut self.memo, Memo::new())
    }

    /// Puts back a memo set aside.
    pub(crate) fn restore(&mut self, memo: Memo<K>) {
        self.memo = memo;
    }
}

/// Whether `relation` allows a subject of this kind (type, wildcard or not, subject relation).
#[inline]
pub(crate) fn allows(
    relation: &Relation,
    subject_type: &str,
    wildcard: bool,
    subject_relation: Option<&str>,
) -> bool {
    relation.allowed.iter().any(|a| {
        a.object_type == subject_type
            && a.wildcard == wildcard
            && a.relation.as_deref() == subject_relation
    })
}

/// Whether `relation` allows a subject of this relationship's kind, without regard to caveats
/// (what the reachability walks read).
#[inline]
pub(crate) fn allows_subject_of(relation: &Relation, r: &Relationship) -> bool {
    let s = &r.subject;
    allows(
        relation,
        &s.object.object_type,
        s.is_wildcard(),
        s.relation.as_deref(),
    )
}

/// Whether the relation still allows this relationship's subject kind, caveat and expiration
/// (relationships written under an older schema are ignored).
#[inline]
pub(crate) fn fits(relation: &Relation, r: &Relationship) -> bool {
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

/// Whether a relationship has expired at `now`.
#[inline]
pub(crate) fn expired(r: &Relationship, now: chrono::DateTime<chrono::Utc>) -> bool {
    r.expiration.as_ref().is_some_and(|e| e.passed(now))
}

/// What a conditional evaluation needs: the compiled caveats, the request context, and "now".
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

/// Whether a relationship holds under `cond` (always, without conditions): false once
/// expired, its caveat's outcome otherwise; parameters that were needed and missing are added
/// to `missing`.
pub(crate) fn holds(
    cond: Option<&Conditions<'_>>,
    r: &Relationship,
    missing: &mut BTreeSet<String>,
) -> Result<Tri> {
    let Some(c) = cond else {
        return Ok(Tri::True);
    };
    if expired(r, c.now) {
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
            cv.context.as_ref().map(StoredContext::map),
            c.context,
            c.strict,
            c.max_cost,
        )? {
            Outcome::True => Tri::True,
            Outcome::False => Tri::False,
            Outcome::Missing(m) => {
                missing.extend(m);
                Tri::Conditional
            }
        },
    )
}

/// Whether each relationship of a group read together holds. With strict conditions
/// (OpenFGA), a relationship whose condition cannot be evaluated (a missing parameter, an
/// evaluation error) does not count when another relationship of its group holds, as
/// OpenFGA's condition-filtering iterator drops it then; otherwise it stays a failure.
pub(crate) fn group_held(
    cond: Option<&Conditions<'_>>,
    rels: &[Relationship],
    missing: &mut BTreeSet<String>,
) -> Vec<Result<Tri>> {
    let held: Vec<Result<Tri>> = rels.iter().map(|r| holds(cond, r, missing)).collect();
    let strict = cond.is_some_and(|c| c.strict);
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

/// What a step through a relationship that holds as `held` is worth before the membership
/// behind it is evaluated: `Err(result)` when the relationship alone decides it (false; with
/// strict conditions a relationship whose condition cannot be evaluated fails the path whatever
/// the membership, as OpenFGA evaluates the condition first), `Ok(held)` to be ∧-ed with it.
pub(crate) fn through_held(
    cond: Option<&Conditions<'_>>,
    held: Result<Tri>,
) -> std::result::Result<Tri, Res> {
    match held {
        Ok(Tri::False) => Err(Res::of(Tri::False)),
        Ok(Tri::Conditional) if cond.is_some_and(|c| c.strict) => Err(unclean(Tri::Conditional)),
        Ok(t) => Ok(t),
        Err(e) => Err(failed(e)),
    }
}
