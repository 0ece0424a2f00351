//! The schema read backwards (which permissions use a relation, directly or through an arrow)
//! and its static facts: which relations are closed plain relations, which permissions are
//! monotone (union-only all the way down), which relations appear as userset subject types.

use foldhash::{HashMap, HashSet};

use crate::schema::{Rewrite, Schema};

/// An arrow seen from its target: (resource type, permission, tupleset relation).
pub(crate) type ArrowUse = (String, String, String);

/// Reverse edges of the schema, built once per engine.
#[derive(Debug, Default)]
pub(crate) struct ReverseIndex {
    /// (type, relation) -> relations of the same type whose rewrite mentions it.
    pub computed: HashMap<(String, String), Vec<String>>,
    /// (subject type, relation) -> (type, relation, tupleset) with an arrow `tupleset->relation`
    /// whose tupleset allows the subject type.
    pub arrows: HashMap<(String, String), Vec<ArrowUse>>,
    /// (type, relation) pairs that some relation allows as a userset subject type (`group#member`).
    pub userset_targets: HashSet<(String, String)>,
    /// Plain relations (rewrite is exactly their relationships) whose userset subject types are
    /// all closed too: membership in them is plain reachability.
    pub closed: HashSet<(String, String)>,
    /// Relations whose evaluation, all the way down, uses only unions, computed relations,
    /// `->`/`.any` arrows and stored relationships: true exactly when reachable.
    pub monotone: HashSet<(String, String)>,
}

impl ReverseIndex {
    pub(crate) fn build(schema: &Schema) -> Self {
        let mut idx = Self::default();
        for def in schema.definitions() {
            for rel in &def.relations {
                rel.rewrite.for_each_leaf(&mut |leaf| match leaf {
                    Rewrite::Computed { relation, .. } => {
                        let v = idx
                            .computed
                            .entry((def.name.clone(), relation.clone()))
                            .or_default();
                        if !v.contains(&rel.name) {
                            v.push(rel.name.clone());
                        }
                    }
                    Rewrite::Arrow {
                        tupleset, computed, ..
                    } => {
                        let Some(ts) = def.relation(tupleset) else {
                            return;
                        };
                        for a in ts.allowed.iter().filter(|a| !a.wildcard) {
                            let v = idx
                                .arrows
                                .entry((a.object_type.clone(), computed.clone()))
                                .or_default();
                            let e = (def.name.clone(), rel.name.clone(), tupleset.clone());
                            if !v.contains(&e) {
                                v.push(e);
                            }
                        }
                    }
                    _ => {}
                });
            }
        }
        idx.facts(schema);
        idx
    }

    fn facts(&mut self, schema: &Schema) {
        let key = |t: &str, r: &str| (t.to_owned(), r.to_owned());
        let mut deps: HashMap<(String, String), Vec<(String, String)>> = HashMap::default();
        let mut closed = HashSet::default();
        let mut monotone = HashSet::default();
        for def in schema.definitions() {
            for rel in &def.relations {
                let me = key(&def.name, &rel.name);
                let mut d = Vec::new();
                for a in &rel.allowed {
                    if let Some(r) = &a.relation {
                        self.userset_targets.insert(key(&a.object_type, r));
                        d.push(key(&a.object_type, r));
                    }
                }
                if rel.rewrite == Rewrite::This {
                    closed.insert(me.clone());
                }
                let mut ok = true;
                walk(&rel.rewrite, &mut |rw| match rw {
                    Rewrite::Intersection(_) | Rewrite::Exclusion(..) => ok = false,
                    Rewrite::Arrow {
                        kind,
                        tupleset,
                        computed,
                        ..
                    } => {
                        if *kind == crate::schema::ArrowKind::All {
                            ok = false;
                        }
                        for a in def.relation(tupleset).map_or(&[][..], |t| &t.allowed) {
                            d.push(key(&a.object_type, computed));
                        }
                    }
                    Rewrite::Computed { relation, .. } => d.push(key(&def.name, relation)),
                    _ => {}
                });
                if ok {
                    monotone.insert(me.clone());
                }
                deps.insert(me, d);
            }
        }
        // Greatest fixpoints: drop anything that depends on something outside the set.
        for set in [&mut closed, &mut monotone] {
            loop {
                let before = set.len();
                let keep: HashSet<(String, String)> = set
                    .iter()
                    .filter(|k| {
                        deps.get(*k).is_none_or(|ds| {
                            ds.iter()
                                .all(|d| set.contains(d) || schema.relation(&d.0, &d.1).is_none())
                        })
                    })
                    .cloned()
                    .collect();
                *set = keep;
                if set.len() == before {
                    break;
                }
            }
        }
        self.closed = closed;
        self.monotone = monotone;
    }
}

/// Calls `f` on every node of a rewrite, operators included.
fn walk(rw: &Rewrite, f: &mut dyn FnMut(&Rewrite)) {
    f(rw);
    match rw {
        Rewrite::Union(c) | Rewrite::Intersection(c) => c.iter().for_each(|x| walk(x, f)),
        Rewrite::Exclusion(a, b) => {
            walk(a, f);
            walk(b, f);
        }
        _ => {}
    }
}
