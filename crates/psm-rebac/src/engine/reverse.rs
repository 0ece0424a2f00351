//! The schema read backwards (which permissions use a relation, directly or through an arrow)
//! and, keyed for the evaluators, the static facts of the schema's [`Analysis`]: which
//! relations are closed plain relations, which permissions are monotone (union-only all the way
//! down), which relations appear as userset subject types; and the analysis itself (which
//! relations can hold a kind of subject).

use std::sync::Arc;

use foldhash::{HashMap, HashSet};

use crate::schema::{Analysis, Rewrite, Schema};

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
    /// The same facts keyed type -> relation, looked up without allocating.
    pairs: HashMap<String, HashMap<String, PairFacts>>,
    /// The schema's analysis these facts come from.
    pub analysis: Arc<Analysis>,
}

/// Everything the index knows about one `(type, relation)` pair.
#[derive(Debug, Default)]
pub(crate) struct PairFacts {
    /// Relations of the same type whose rewrite mentions this one.
    pub computed: Vec<String>,
    /// Arrows that reach this relation: (type, relation, tupleset).
    pub arrows: Vec<ArrowUse>,
    /// Whether some relation allows this pair as a userset subject type.
    pub userset_target: bool,
    /// Whether it is a closed plain relation.
    pub closed: bool,
    /// Whether it is monotone.
    pub monotone: bool,
}

impl ReverseIndex {
    pub(crate) fn build(schema: &Schema, analysis: &Arc<Analysis>) -> Self {
        let mut idx = Self {
            analysis: analysis.clone(),
            ..Self::default()
        };
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
        for (t, r) in analysis.nodes() {
            let k = (t.clone(), r.clone());
            if analysis.is_closed(t, r) {
                idx.closed.insert(k.clone());
            }
            if analysis.is_monotone(t, r) {
                idx.monotone.insert(k.clone());
            }
            if analysis.is_userset_target(t, r) {
                idx.userset_targets.insert(k);
            }
        }
        idx.index_pairs();
        idx
    }

    /// The facts about `(object_type, relation)`; `None` when the index knows nothing of it.
    pub(crate) fn pair(&self, object_type: &str, relation: &str) -> Option<&PairFacts> {
        self.pairs.get(object_type)?.get(relation)
    }

    fn index_pairs(&mut self) {
        let mut pairs: HashMap<String, HashMap<String, PairFacts>> = HashMap::default();
        fn at<'p>(
            pairs: &'p mut HashMap<String, HashMap<String, PairFacts>>,
            k: &(String, String),
        ) -> &'p mut PairFacts {
            pairs
                .entry(k.0.clone())
                .or_default()
                .entry(k.1.clone())
                .or_default()
        }
        for (k, v) in &self.computed {
            at(&mut pairs, k).computed.clone_from(v);
        }
        for (k, v) in &self.arrows {
            at(&mut pairs, k).arrows.clone_from(v);
        }
        for k in &self.userset_targets {
            at(&mut pairs, k).userset_target = true;
        }
        for k in &self.closed {
            at(&mut pairs, k).closed = true;
        }
        for k in &self.monotone {
            at(&mut pairs, k).monotone = true;
        }
        self.pairs = pairs;
    }
}
