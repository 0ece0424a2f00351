//! Fast-path twin of `membership.rs`: the plain-relation usersets containing the subject, found
//! by a breadth-first walk backwards over the store's reverse index, on symbol ids. Every
//! userset the walk visits is a step of the request's budget (charged in batches, which also
//! look at the deadline and cancellation), as in the rest of the engine.

use std::collections::VecDeque;

use foldhash::HashMap;

use super::Syms;
use super::compiled::Compiled;
use crate::engine::budget::Meter;
use crate::engine::membership::MAX_NODES;
use crate::error::Result;
use crate::store::capability::{IndexSnapshot, NO_RELATION as NONE, Sym};

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
        compiled: &Compiled,
        syms: &Syms<'_>,
        (subject, wildcard): ([Sym; 3], bool),
        max_depth: u32,
        meter: &mut Meter<'_>,
    ) -> Result<Self> {
        let mut m = Self {
            complete: true,
            dist: HashMap::with_capacity_and_hasher(16, Default::default()),
        };
        if compiled.userset_targets.is_empty() {
            return Ok(m);
        }
        let store = syms.store();
        let mut queue: VecDeque<([Sym; 3], u32)> = VecDeque::new();
        meter.step()?;
        m.visit(compiled, store, subject, 1, &mut queue);
        if subject[2] == NONE && !wildcard && compiled.star_stored {
            meter.step()?;
            m.visit(
                compiled,
                store,
                [subject[0], compiled.star, NONE],
                1,
                &mut queue,
            );
        }
        while let Some((us, d)) = queue.pop_front() {
            if d >= max_depth || m.dist.len() >= MAX_NODES {
                m.complete = false;
                continue;
            }
            meter.step()?;
            m.visit(compiled, store, us, d + 1, &mut queue);
        }
        Ok(m)
    }

    /// Records every plain-relation userset whose stored relationships hold `subject`.
    fn visit(
        &mut self,
        compiled: &Compiled,
        store: &dyn IndexSnapshot,
        subject: [Sym; 3],
        d: u32,
        queue: &mut VecDeque<([Sym; 3], u32)>,
    ) {
        for &[rt, rid, rrel] in store.resources_of(&subject) {
            let Some(n) = compiled.userset_target(rt, rrel) else {
                continue;
            };
            let Some(info) = compiled.nodes.get(n as usize) else {
                continue;
            };
            if !info.plain || !info.allows(subject, compiled.star) {
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
