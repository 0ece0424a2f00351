//! The usersets a subject belongs to through plain relations, found backwards from the subject.
//!
//! A *plain* relation is one whose rewrite is exactly its stored relationships (every SpiceDB
//! `relation`, an OpenFGA `define r: [types]`). Membership in a plain relation's userset is
//! reachability along userset relationships (the least fixpoint), so a breadth-first walk from the
//! subject finds every such userset with its distance, and `check` answers "is the subject in
//! `group:eng#member`?" with one lookup instead of expanding every nested group forwards. Cycles
//! among plain relations therefore never hide a member. When the walk is complete and a userset
//! of a *closed* plain relation (one whose userset subject types are closed plain relations too)
//! was not reached, the subject is not a member: `check` answers false without expanding it.
//! The walk records at most [`MAX_NODES`] usersets and stops at the depth limit; when it stops
//! early, `check` expands forwards instead, where a cycle cut at a closed plain relation counts
//! as false (the same least fixpoint, see `rules.rs`) and any other cycle cut as unknown.

use std::collections::VecDeque;
use std::sync::Arc;

use foldhash::HashMap;

use super::reader::Reader;
use super::reverse::ReverseIndex;
use super::rules;
use crate::error::Result;
use crate::relationship::{ObjectRef, Relationship, SubjectRef};
use crate::schema::{Rewrite, Schema};

/// How many usersets the walk records at most.
pub(crate) const MAX_NODES: usize = 50_000;

/// Plain-relation usersets containing one subject, with their distance from it.
#[derive(Debug, Default)]
pub(crate) struct Memberships {
    /// relation -> object -> distance.
    dist: HashMap<Arc<str>, HashMap<ObjectRef, u32>>,
    len: usize,
    /// False when the walk stopped early (node cap or depth limit): absence then proves nothing.
    complete: bool,
}

impl Memberships {
    /// Walks backwards from `subject` (and, with `wildcard`, its type's wildcard) through plain
    /// relations.
    pub(crate) async fn compute(
        schema: &Schema,
        index: &ReverseIndex,
        reader: Reader<'_>,
        subject: &SubjectRef,
        max_depth: u32,
        wildcard: bool,
    ) -> Result<Self> {
        let mut m = Self {
            complete: true,
            ..Self::default()
        };
        let mut queue: VecDeque<(ObjectRef, Arc<str>, u32)> = VecDeque::new();
        // Only usersets some relation accepts as a subject are ever asked about, and only they
        // lead further: read just those relations.
        let mut targets: Vec<&(String, String)> = index.userset_targets.iter().collect();
        targets.sort();
        let mut starts = vec![subject.clone()];
        if wildcard && subject.relation.is_none() && !subject.is_wildcard() {
            starts.push(SubjectRef::wildcard(subject.object.object_type.clone()));
        }
        for s in &starts {
            for (t, r) in &targets {
                let seeds = reader.by_subject_on(s, t, r).await?;
                m.visit(schema, seeds, 1, &mut queue);
            }
        }
        while let Some((o, r, d)) = queue.pop_front() {
            if d >= max_depth || m.len >= MAX_NODES {
                m.complete = false;
                continue;
            }
            let us = SubjectRef {
                object: o,
                relation: Some(r),
            };
            for (t, rel) in &targets {
                let next = reader.by_subject_on(&us, t, rel).await?;
                m.visit(schema, next, d + 1, &mut queue);
            }
        }
        Ok(m)
    }

    fn visit(
        &mut self,
        schema: &Schema,
        rels: Vec<Relationship>,
        d: u32,
        queue: &mut VecDeque<(ObjectRef, Arc<str>, u32)>,
    ) {
        for t in rels {
            let Some(rel) = schema.relation(&t.resource.object_type, &t.relation) else {
                continue;
            };
            if rel.rewrite != Rewrite::This || !rules::allows_subject_of(rel, &t) {
                continue;
            }
            if self.len >= MAX_NODES {
                self.complete = false;
                continue;
            }
            let by_object = self.dist.entry(t.relation.clone()).or_default();
            if !by_object.contains_key(&t.resource) {
                by_object.insert(t.resource.clone(), d);
                self.len += 1;
                queue.push_back((t.resource, t.relation, d));
            }
        }
    }

    /// Whether the walk saw everything: then a closed relation's userset it did not reach does
    /// not contain the subject.
    pub(crate) fn complete(&self) -> bool {
        self.complete
    }

    /// The distance from `object#relation` down to the subject, if it is a known member.
    pub(crate) fn distance(&self, object: &ObjectRef, relation: &str) -> Option<u32> {
        self.dist.get(relation)?.get(object).copied()
    }
}
