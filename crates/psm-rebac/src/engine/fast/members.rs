//! Fast-path twin of `membership.rs`: the plain-relation usersets containing the subject, found
//! by a breadth-first walk backwards over the store's reverse index, on symbol ids. Every
//! userset the walk visits is a step of the request's budget (charged in batches, which also
//! look at the deadline and cancellation), as in the rest of the engine.

use foldhash::HashMap;

use super::Syms;
use super::compiled::Compiled;
use crate::engine::budget::Meter;
use crate::engine::membership::MAX_NODES;
use crate::error::Result;
use crate::store::capability::{IndexSnapshot, NO_RELATION as NONE, Sym};

/// How many usersets are searched linearly before they are indexed by a hash map.
const SMALL: usize = 16;

/// Usersets `(type, id, relation)` containing the subject, with their distance.
#[derive(Debug, Default)]
pub(crate) struct Members {
    /// Every userset found, in the order the breadth-first walk found them (so also its queue).
    found: Vec<([Sym; 3], u32)>,
    /// `found` by userset, once it outgrows a linear search.
    index: HashMap<[Sym; 3], u32>,
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
            ..Self::default()
        };
        if compiled.userset_targets.is_empty() {
            return Ok(m);
        }
        let store = syms.store();
        m.found.reserve_exact(SMALL);
        meter.step()?;
        m.visit(compiled, store, subject, 1);
        if subject[2] == NONE && !wildcard && compiled.star_stored {
            meter.step()?;
            m.visit(compiled, store, [subject[0], compiled.star, NONE], 1);
        }
        // `found` is the queue: what `visit` adds is visited in the order it was added.
        let mut next = 0;
        while let Some(&(us, d)) = m.found.get(next) {
            next += 1;
            if d >= max_depth || m.found.len() >= MAX_NODES {
                m.complete = false;
                continue;
            }
            meter.step()?;
            m.visit(compiled, store, us, d + 1);
        }
        Ok(m)
    }

    /// Records every plain-relation userset whose stored relationships hold `subject`.
    fn visit(&mut self, compiled: &Compiled, store: &dyn IndexSnapshot, subject: [Sym; 3], d: u32) {
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
            if self.found.len() >= MAX_NODES {
                self.complete = false;
                continue;
            }
            let key = [rt, rid, rrel];
            if self.distance(key).is_none() {
                self.found.push((key, d));
                if self.found.len() > SMALL {
                    if self.index.is_empty() {
                        self.index.extend(self.found.iter().copied());
                    } else {
                        self.index.insert(key, d);
                    }
                }
            }
        }
    }

    /// Whether the walk saw everything.
    pub(crate) fn complete(&self) -> bool {
        self.complete
    }

    /// The distance from userset `(type, id, relation)` down to the subject, if it is a member.
    pub(crate) fn distance(&self, userset: [Sym; 3]) -> Option<u32> {
        if self.index.is_empty() {
            self.found.iter().find(|e| e.0 == userset).map(|e| e.1)
        } else {
            self.index.get(&userset).copied()
        }
    }
}
