//! Fast-path twin of `lookup_resources` (`../lookup.rs`): the same backward breadth-first walk
//! from the subject, on symbol ids over the store's reverse index, then the same confirmation.

use std::collections::VecDeque;

use foldhash::{HashMap, HashSet};

use super::{FastChecker, Syms};
use crate::engine::budget::{Budget, Meter};
use crate::engine::reverse::ReverseIndex;
use crate::engine::rules;
use crate::error::{Error, Result};
use crate::relationship::SubjectRef;
use crate::schema::Schema;
use crate::store::capability::{NO_RELATION as NONE, Sym};

/// Ids of every `resource_type` object on which `subject` has `permission`, sorted.
pub(crate) fn lookup_resources<'a>(
    schema: &'a Schema,
    index: &'a ReverseIndex,
    mut syms: Syms<'a>,
    (resource_type, permission): (&'a str, &'a str),
    subject: &'a SubjectRef,
    max_depth: u32,
    budget: &'a Budget,
) -> Result<Vec<String>> {
    let mut meter = Meter::new(budget);
    let candidates = candidates(
        schema,
        index,
        &mut syms,
        (resource_type, permission),
        subject,
        &mut meter,
    )?;
    let mut ids: Vec<(&'a str, Sym, u32)> = candidates
        .into_iter()
        .map(|(id, d)| (syms.name(id), id, d))
        .collect();
    ids.sort_unstable_by(|a, b| a.0.cmp(b.0));
    if index
        .pair(resource_type, permission)
        .is_some_and(|p| p.monotone)
    {
        // Union-only all the way down: reachable within the limit is exactly `check` true.
        return if ids.iter().any(|x| x.2 > max_depth) {
            Err(Error::DepthExceeded { limit: max_depth })
        } else {
            Ok(ids.into_iter().map(|x| x.0.to_owned()).collect())
        };
    }
    let rt = syms.sym_request(resource_type);
    let mut c = FastChecker::new(schema, index, syms, subject, max_depth, budget);
    let node = c.node_of(resource_type, permission);
    let mut out = Vec::new();
    for (name, id, _) in ids {
        if c.check_root_node([rt, id], node)? {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

/// The backward walk: each reached `resource_type#permission` object with its shortest distance.
fn candidates<'a>(
    schema: &'a Schema,
    index: &'a ReverseIndex,
    syms: &mut Syms<'a>,
    (resource_type, permission): (&'a str, &'a str),
    subject: &'a SubjectRef,
    meter: &mut Meter<'_>,
) -> Result<HashMap<Sym, u32>> {
    let store = syms.store();
    let mut seen: HashSet<[Sym; 3]> = HashSet::default();
    let mut queue: VecDeque<([Sym; 3], u32)> = VecDeque::new();
    let mut push = |n: [Sym; 3], d: u32, q: &mut VecDeque<_>| {
        if seen.insert(n) {
            q.push_back((n, d));
        }
    };
    let s = [
        syms.sym_request(&subject.object.object_type),
        syms.sym_request(&subject.object.object_id),
        subject
            .relation
            .as_deref()
            .map_or(NONE, |r| syms.sym_request(r)),
    ];
    if s[2] != NONE {
        push(s, 0, &mut queue);
    }
    let mut starts = vec![s];
    if s[2] == NONE && !subject.is_wildcard() {
        starts.push([s[0], syms.sym("*"), NONE]);
    }
    for st in starts {
        for &t in store.resources_of(&st) {
            if stored_and_allowed(schema, syms, t, st) {
                push(t, 0, &mut queue);
            }
        }
    }
    let (want_type, want_perm) = (
        syms.sym_request(resource_type),
        syms.sym_request(permission),
    );
    let mut out: HashMap<Sym, u32> = HashMap::default();
    while let Some((o, d)) = queue.pop_front() {
        meter.step()?;
        if o[0] == want_type && o[2] == want_perm {
            out.entry(o[1]).or_insert(d);
        }
        let Some(facts) = index.pair(syms.name(o[0]), syms.name(o[2])) else {
            continue;
        };
        for p in &facts.computed {
            let p = syms.sym(p);
            push([o[0], o[1], p], d + 1, &mut queue);
        }
        for (t2, p2, ts) in &facts.arrows {
            let Some(tsr) = schema.relation(t2, ts) else {
                continue;
            };
            let (Some(t2s), Some(tss)) = (syms.find(t2), syms.find(ts)) else {
                continue;
            };
            let p2s = syms.sym(p2);
            let ot = syms.name(o[0]);
            for &sr in store.subject_relations(&[o[0], o[1]]) {
                let srn = (sr != NONE).then(|| syms.name(sr));
                if !rules::allows(tsr, ot, false, srn) {
                    continue;
                }
                for &[rt, rid, rrel] in store.resources_of(&[o[0], o[1], sr]) {
                    if rt == t2s && rrel == tss {
                        push([rt, rid, p2s], d + 1, &mut queue);
                    }
                }
            }
        }
        if facts.userset_target {
            for &t in store.resources_of(&o) {
                if stored_and_allowed(schema, syms, t, o) {
                    push(t, d + 1, &mut queue);
                }
            }
        }
    }
    Ok(out)
}

/// Whether `check` would read the tuple `t@subject`: its relation keeps stored relationships and
/// allows the subject's kind.
fn stored_and_allowed(schema: &Schema, syms: &Syms<'_>, t: [Sym; 3], subject: [Sym; 3]) -> bool {
    let Some(rel) = schema.relation(syms.name(t[0]), syms.name(t[2])) else {
        return false;
    };
    let st = syms.name(subject[0]);
    let wildcard = syms.name(subject[1]) == "*";
    let sr = (subject[2] != NONE).then(|| syms.name(subject[2]));
    rel.rewrite.contains_this() && rules::allows(rel, st, wildcard, sr)
}
