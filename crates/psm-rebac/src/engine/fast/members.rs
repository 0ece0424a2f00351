//! Fast-path twin of `membership.rs`: the plain-relation usersets containing the subject, found
//! by a breadth-first walk backwards over the store's reverse index, on symbol ids. Every
//! userset the walk visits is a step of the request's budget (charged in batches, which also
//! look at the deadline and cancellation), as in the rest of the engine.

use std::collections::VecDeque;

use foldhash::HashMap;

use super::Syms;
use crate::engine::budget::Meter;
use crate::engine::membership::MAX_NODES;
use crate::engine::reverse::ReverseIndex;
use crate::engine::rules;
use crate::error::Result;
use crate::schema::{Rewrite, Schema};
use crate::store::capability::{NO_RELATION as NONE, Sym};

/// Usersets `(type, id, relation)` containing the subject, with their distance.
#[derive(Debug, Default)]
pub(crate) struct Members {
    dist: HashMap<[Sym; 3], u32>,
    complete: bool,
}

impl Members {
    /// Walks backwards from `subject` (and, unless it is a wildcard itself, its type's
    /// wildcard) through plain relations, reading only relations some relation accepts as a
    /// userset subject type. Fails when the walk goes past the request's budget.
    pub(crate) fn compute(
        schema: &Schema,
        index: &ReverseIndex,
        syms: &mut Syms<'_>,
        (subject, wildcard): ([Sym; 3], bool),
        max_depth: u32,
        meter: &mut Meter<'_>,
    ) -> Result<Self> {
        let mut m = Self {
            complete: true,
            dist: HashMap::with_capacity_and_hasher(16, Default::default()),
        };
        let targets: Vec<[Sym; 2]> = index
            .userset_targets
            .iter()
            .filter_map(|(t, r)| Some([syms.find(t)?, syms.find(r)?]))
            .collect();
        if targets.is_empty() {
            return Ok(m);
        }
        let mut starts = vec![subject];
        if subject[2] == NONE
            && !wildcard
            && let Some(star) = syms.find("*")
        {
            starts.push([subject[0], star, NONE]);
        }
        let mut queue: VecDeque<([Sym; 3], u32)> = VecDeque::new();
        for s in starts {
            meter.step()?;
            m.visit(schema, syms, &targets, s, 1, &mut queue);
        }
        while let Some((us, d)) = queue.pop_front() {
            if d >= max_depth || m.dist.len() >= MAX_NODES {
                m.complete = false;
                continue;
            }
            meter.step()?;
            m.visit(schema, syms, &targets, us, d + 1, &mut queue);
        }
        Ok(m)
    }

    /// Records every plain-relation userset whose stored relationships hold `subject`.
    fn visit(
        &mut self,
        schema: &Schema,
        syms: &Syms<'_>,
        targets: &[[Sym; 2]],
        subject: [Sym; 3],
        d: u32,
        queue: &mut VecDeque<([Sym; 3], u32)>,
    ) {
        let (st, sid, sr) = (
            syms.name(subject[0]),
            syms.name(subject[1]),
            (subject[2] != NONE).then(|| syms.name(subject[2])),
        );
        for &[rt, rid, rrel] in syms.store().resources_of(&subject) {
            if !targets.contains(&[rt, rrel]) {
                continue;
            }
            let Some(rel) = schema.relation(syms.name(rt), syms.name(rrel)) else {
                continue;
            };
            if rel.rewrite != Rewrite::This || !rules::allows(rel, st, sid == "*", sr) {
                continue;
            }
            if self.dist.len() >= MAX_NODES {
                self.complete = false;
                continue;
            }
            let key = [rt, rid, rrel];
            if let std::collections::hash_map::Entry::Vacant(e) = self.dist.entry(key) {
                e.insert(d);
                queue.push_back((key, d));
            }
        }
    }

    /// Whether the walk saw everything.
    pub(crate) fn complete(&self) -> bool {
        self.complete
    }

    /// The distance from userset `(type, id, relation)` down to the subject, if it is a member.
    pub(crate) fn distance(&self, userset: [Sym; 3]) -> Option<u32> {
        self.dist.get(&userset).copied()
    }
}
