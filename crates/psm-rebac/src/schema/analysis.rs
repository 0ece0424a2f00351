//! One analysis of a schema, computed once when it is loaded and shared by every evaluator and
//! compiler (the engine, psm-sql's SQL compiler): the dependency graph of its relations (which
//! `type#relation` a rewrite refers to, through computed relations, userset subject types and
//! arrows), its strongly connected components in dependency order and which of them recurse,
//! which relations are monotone (unions of stored relationships, computed relations and
//! `->`/`.any` arrows all the way down: more relationships never remove a result), which are
//! closed plain relations (exactly their relationships, with closed userset subject types:
//! membership is plain reachability), which relations allow a caveat on a stored relationship,
//! which pairs are userset subject types somewhere, and which relations can hold each kind of
//! subject at all (OpenFGA's type graph: a relation that cannot is false for such a subject
//! whatever the relationships, so every evaluator skips it).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use super::model::{ArrowKind, Relation, Rewrite, Schema};

/// A `type#relation` node.
pub type Node = (String, String);

/// The facts about every relation of a schema. Build it with [`Analysis::new`] (the engine keeps
/// one: `Engine::analysis`).
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    nodes: Vec<Node>,
    /// type -> relation -> node, looked up without allocating.
    index: foldhash::HashMap<String, foldhash::HashMap<String, usize>>,
    /// Each node's place in the schema: (definition, relation) positions.
    places: Vec<(usize, usize)>,
    deps: Vec<Vec<usize>>,
    /// type -> the subject kind of its plain objects (`nodes.len()` + the type's position).
    types: foldhash::HashMap<String, usize>,
    /// Per subject kind (a node for a userset subject, a type for a plain one): a bitset over
    /// nodes of the relations that can hold such a subject.
    reaching: Vec<Vec<u64>>,
    comp: Vec<usize>,
    recursive_comp: Vec<bool>,
    monotone: Vec<bool>,
    closed: Vec<bool>,
    caveated: Vec<bool>,
    userset_target: Vec<bool>,
}

/// A schema's analysis, computed on first use ([`Schema::analysis`]). Not part of the schema's
/// value: it is derived from it, so two schemas compare equal whether or not either has it yet.
#[derive(Clone, Default)]
pub(crate) struct AnalysisCell(OnceLock<Arc<Analysis>>);

impl AnalysisCell {
    /// The analysis of `schema` (the schema holding this cell), computed the first time.
    pub(crate) fn get(&self, schema: &Schema) -> &Arc<Analysis> {
        self.0.get_or_init(|| Arc::new(Analysis::new(schema)))
    }
}

impl PartialEq for AnalysisCell {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for AnalysisCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "AnalysisCell(computed)"
        } else {
            "AnalysisCell(pending)"
        })
    }
}

/// The relations that can hold one kind of subject: see [`Analysis::reaching`].
#[derive(Debug, Clone, Copy)]
pub struct Reaching<'a> {
    analysis: &'a Analysis,
    bits: &'a [u64],
}

impl Reaching<'_> {
    /// Whether node `node` (an [`Analysis::node_id`]) can hold the subject kind.
    pub fn has_node(&self, node: usize) -> bool {
        self.bits
            .get(node / 64)
            .is_some_and(|w| w & (1 << (node % 64)) != 0)
    }

    /// Whether `type#relation` can hold the subject kind (false for a relation the schema
    /// lacks).
    pub fn has(&self, object_type: &str, relation: &str) -> bool {
        self.analysis
            .node_id(object_type, relation)
            .is_some_and(|n| self.has_node(n))
    }
}

/// The part of the graph one relation depends on, its components in dependency order (a
/// component depends only on earlier ones and itself): what a compiler turns into one CTE per
/// component.
#[derive(Debug, Clone)]
pub struct Reach {
    /// The nodes, the root first.
    pub nodes: Vec<Node>,
    /// Position of each node in `nodes`.
    pub index: HashMap<Node, usize>,
    /// The component of each node (an index into `comps`).
    pub comp: Vec<usize>,
    /// Components in dependency order, as positions in `nodes`.
    pub comps: Vec<Vec<usize>>,
    /// Whether a component depends on itself (a cycle: needs recursion).
    pub recursive: Vec<bool>,
}

/// The nodes one leaf of a rewrite on `object_type` refers to, sorted: a `this` leaf the
/// relation's userset subject types, a computed relation itself, an arrow the computed relation
/// on every non-wildcard type its tupleset allows (only relations the schema has).
pub fn leaf_deps(schema: &Schema, object_type: &str, rel: &Relation, leaf: &Rewrite) -> Vec<Node> {
    let mut out = Vec::new();
    match leaf {
        Rewrite::This => {
            for a in &rel.allowed {
                if let Some(c) = &a.relation
                    && schema.relation(&a.object_type, c).is_some()
                {
                    out.push((a.object_type.clone(), c.clone()));
                }
            }
        }
        Rewrite::Computed { relation, .. } if schema.relation(object_type, relation).is_some() => {
            out.push((object_type.to_owned(), relation.clone()));
        }
        Rewrite::Arrow {
            tupleset, computed, ..
        } => {
            if let Some(ts) = schema.relation(object_type, tupleset) {
                for a in ts.allowed.iter().filter(|a| !a.wildcard) {
                    if schema.relation(&a.object_type, computed).is_some() {
                        out.push((a.object_type.clone(), computed.clone()));
                    }
                }
            }
        }
        _ => {}
    }
    out.sort();
    out.dedup();
    out
}

/// Every node a rewrite refers to, sorted.
pub fn rewrite_deps(schema: &Schema, object_type: &str, rel: &Relation, rw: &Rewrite) -> Vec<Node> {
    let mut out = Vec::new();
    rw.for_each_leaf(&mut |leaf| out.extend(leaf_deps(schema, object_type, rel, leaf)));
    out.sort();
    out.dedup();
    out
}

/// Whether a rewrite is a union of `this`, computed relations and `->`/`.any` arrows (no
/// intersection, exclusion or `.all()` arrow at this relation).
pub fn union_only(rw: &Rewrite) -> bool {
    match rw {
        Rewrite::This | Rewrite::Nil | Rewrite::Computed { .. } => true,
        Rewrite::Arrow { kind, .. } => *kind == ArrowKind::Any,
        Rewrite::Union(c) => c.iter().all(union_only),
        Rewrite::Intersection(_) | Rewrite::Exclusion(..) => false,
    }
}

impl Analysis {
    /// Analyses `schema` (linear in its size, plus the fixpoints over its relations).
    pub fn new(schema: &Schema) -> Self {
        let mut a = Analysis::default();
        for (d, def) in schema.definitions().iter().enumerate() {
            for (r, rel) in def.relations.iter().enumerate() {
                let n = (def.name.clone(), rel.name.clone());
                a.places.push((d, r));
                a.index
                    .entry(def.name.clone())
                    .or_default()
                    .insert(rel.name.clone(), a.nodes.len());
                a.nodes.push(n);
            }
        }
        let count = a.nodes.len();
        a.userset_target = vec![false; count];
        let mut local_union = vec![false; count];
        let mut plain = vec![false; count];
        a.caveated = vec![false; count];
        for def in schema.definitions() {
            for rel in &def.relations {
                let Some(me) = a.at(&def.name, &rel.name) else {
                    continue;
                };
                let deps = rewrite_deps(schema, &def.name, rel, &rel.rewrite);
                let deps = deps.iter().filter_map(|d| a.at(&d.0, &d.1)).collect();
                a.deps.push(deps);
                for al in &rel.allowed {
                    if let Some(r) = &al.relation
                        && let Some(t) = a.at(&al.object_type, r)
                    {
                        a.userset_target[t] = true;
                    }
                }
                local_union[me] = union_only(&rel.rewrite);
                plain[me] = rel.rewrite == Rewrite::This;
                a.caveated[me] = rel.allowed.iter().any(|al| al.caveat.is_some());
            }
        }
        a.monotone = greatest_fixpoint(&a.deps, local_union);
        a.closed = greatest_fixpoint(&a.deps, plain);
        let (comp, comps) = tarjan(&a.deps);
        a.recursive_comp = comps
            .iter()
            .map(|c| c.len() > 1 || c.iter().any(|&n| a.deps[n].contains(&n)))
            .collect();
        a.comp = comp;
        a.reaching = a.subject_reach(schema);
        a
    }

    /// The bitsets of [`Analysis::reaching`]: for each subject kind, the nodes from which the
    /// dependency graph leads to a relation that stores such subjects directly (a `this` leaf
    /// allowing the type without a relation, wildcard included) or, for a userset kind, to the
    /// userset's own relation.
    fn subject_reach(&mut self, schema: &Schema) -> Vec<Vec<u64>> {
        let count = self.nodes.len();
        let mut rdeps: Vec<Vec<usize>> = vec![Vec::new(); count];
        for (n, ds) in self.deps.iter().enumerate() {
            for &d in ds {
                rdeps[d].push(n);
            }
        }
        let mut seeds: Vec<Vec<usize>> = (0..count).map(|n| vec![n]).collect();
        for def in schema.definitions() {
            let t = count + self.types.len();
            self.types.insert(def.name.clone(), t);
            seeds.push(Vec::new());
        }
        for def in schema.definitions() {
            for rel in &def.relations {
                let Some(me) = self.at(&def.name, &rel.name) else {
                    continue;
                };
                if !rel.rewrite.contains_this() {
                    continue;
                }
                for al in rel.allowed.iter().filter(|al| al.relation.is_none()) {
                    if let Some(&k) = self.types.get(&al.object_type) {
                        seeds[k].push(me);
                    }
                }
            }
        }
        let words = count.div_ceil(64);
        seeds
            .into_iter()
            .map(|seed| {
                let mut bits = vec![0u64; words];
                let mut stack = seed;
                while let Some(n) = stack.pop() {
                    if bits[n / 64] & (1 << (n % 64)) != 0 {
                        continue;
                    }
                    bits[n / 64] |= 1 << (n % 64);
                    stack.extend(rdeps[n].iter().copied());
                }
                bits
            })
            .collect()
    }

    /// The node of `type#relation`, if the schema has it (no allocation).
    pub fn node_id(&self, object_type: &str, relation: &str) -> Option<usize> {
        self.index.get(object_type)?.get(relation).copied()
    }

    /// The relation of node `node` in `schema`, which must be the schema analysed (what the
    /// evaluators use to go from a node to its rewrite without looking names up again).
    pub fn relation_of<'s>(&self, schema: &'s Schema, node: usize) -> Option<&'s Relation> {
        let &(d, r) = self.places.get(node)?;
        schema.definitions().get(d)?.relations.get(r)
    }

    fn at(&self, object_type: &str, relation: &str) -> Option<usize> {
        self.node_id(object_type, relation)
    }

    /// The relations that can hold subjects of `subject_type` (with `subject_relation`: its
    /// usersets), directly or through usersets, computed relations and arrows; empty for a
    /// kind the schema lacks. Computed once per schema; asking is a lookup.
    pub fn reaching(&self, subject_type: &str, subject_relation: Option<&str>) -> Reaching<'_> {
        let kind = match subject_relation {
            Some(r) => self.node_id(subject_type, r),
            None => self.types.get(subject_type).copied(),
        };
        Reaching {
            analysis: self,
            bits: kind
                .and_then(|k| self.reaching.get(k))
                .map_or(&[][..], Vec::as_slice),
        }
    }

    /// Whether `type#relation` is monotone: only unions, computed relations, `->` arrows and
    /// stored relationships all the way down. `false` for a relation the schema lacks.
    pub fn is_monotone(&self, object_type: &str, relation: &str) -> bool {
        self.at(object_type, relation)
            .is_some_and(|i| self.monotone[i])
    }

    /// Whether `type#relation` is a closed plain relation: exactly its stored relationships, and
    /// its userset subject types are closed too.
    pub fn is_closed(&self, object_type: &str, relation: &str) -> bool {
        self.at(object_type, relation)
            .is_some_and(|i| self.closed[i])
    }

    /// Whether `type#relation` lies on a cycle of the dependency graph (nesting: a group of
    /// groups, a folder's parent chain).
    pub fn is_recursive(&self, object_type: &str, relation: &str) -> bool {
        self.at(object_type, relation)
            .is_some_and(|i| self.recursive_comp[self.comp[i]])
    }

    /// The strongly connected component of `type#relation` in the dependency graph: relations
    /// with the same component reach each other. Components are numbered in dependency order
    /// (one depends only on lower-numbered ones and itself). `None` for a relation the schema
    /// lacks.
    pub fn component(&self, object_type: &str, relation: &str) -> Option<usize> {
        self.at(object_type, relation).map(|i| self.comp[i])
    }

    /// Whether stored relationships of `type#relation` may carry a caveat (some allowed
    /// subject type has one).
    pub fn allows_caveat(&self, object_type: &str, relation: &str) -> bool {
        self.at(object_type, relation)
            .is_some_and(|i| self.caveated[i])
    }

    /// Whether some relation allows `type#relation` as a userset subject type.
    pub fn is_userset_target(&self, object_type: &str, relation: &str) -> bool {
        self.at(object_type, relation)
            .is_some_and(|i| self.userset_target[i])
    }

    /// Every `type#relation` of the schema.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The nodes `type#relation` refers to directly.
    pub fn deps(&self, object_type: &str, relation: &str) -> impl Iterator<Item = &Node> {
        self.at(object_type, relation)
            .into_iter()
            .flat_map(|i| self.deps[i].iter().map(|&d| &self.nodes[d]))
    }

    /// Whether every relation `root` depends on (itself included) is monotone (the same as
    /// [`Analysis::is_monotone`]); `true` for a relation the schema lacks (it grants nothing).
    pub fn monotone_or_absent(&self, object_type: &str, relation: &str) -> bool {
        self.at(object_type, relation)
            .is_none_or(|i| self.monotone[i])
    }

    /// What `root` depends on, with its components in dependency order.
    pub fn reach(&self, root: &Node) -> Reach {
        let mut nodes = vec![root.clone()];
        let mut index = HashMap::from([(root.clone(), 0usize)]);
        let mut deps: Vec<Vec<usize>> = Vec::new();
        let mut i = 0;
        while i < nodes.len() {
            let mut mine = Vec::new();
            if let Some(g) = self.at(&nodes[i].0, &nodes[i].1) {
                for &d in &self.deps[g] {
                    let n = &self.nodes[d];
                    let next = nodes.len();
                    let id = *index.entry(n.clone()).or_insert(next);
                    if id == next {
                        nodes.push(n.clone());
                    }
                    mine.push(id);
                }
            }
            deps.push(mine);
            i += 1;
        }
        let (comp, comps) = tarjan(&deps);
        let recursive = comps
            .iter()
            .map(|c| c.len() > 1 || c.iter().any(|&n| deps[n].contains(&n)))
            .collect();
        Reach {
            nodes,
            index,
            comp,
            comps,
            recursive,
        }
    }
}

/// The largest subset of `seed` whose members depend only on members.
fn greatest_fixpoint(deps: &[Vec<usize>], mut set: Vec<bool>) -> Vec<bool> {
    loop {
        let mut changed = false;
        for n in 0..set.len() {
            if set[n] && deps[n].iter().any(|&d| !set[d]) {
                set[n] = false;
                changed = true;
            }
        }
        if !changed {
            return set;
        }
    }
}

/// Iterative Tarjan: components in reverse topological order of the condensation, which for
/// "depends on" edges is dependency order.
fn tarjan(deps: &[Vec<usize>]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let n = deps.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut comp = vec![usize::MAX; n];
    let mut comps = Vec::new();
    let mut next = 0;
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        let mut work = vec![(start, 0usize)];
        while let Some(&mut (v, ref mut child)) = work.last_mut() {
            if *child == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = deps[v].get(*child) {
                *child += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut members = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp[w] = comps.len();
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                comps.push(members);
            }
        }
    }
    (comp, comps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_of_a_nested_schema() {
        let s = Schema::parse_spicedb(
            "definition user {}
             definition group { relation member: user | group#member }
             definition org {
                 relation member: user | group#member
                 relation banned: user
                 permission membership = member - banned
             }
             definition doc {
                 relation org: org
                 relation reader: user | group#member
                 permission view = reader + org->membership
                 permission read = reader
             }",
        )
        .unwrap();
        let a = Analysis::new(&s);
        assert!(a.is_closed("group", "member") && a.is_recursive("group", "member"));
        assert!(a.is_monotone("doc", "read") && !a.is_recursive("doc", "read"));
        assert!(!a.is_monotone("doc", "view"), "reaches an exclusion");
        assert!(!a.is_monotone("org", "membership") && a.is_monotone("org", "member"));
        assert!(
            !a.is_closed("doc", "read"),
            "a permission is not a plain relation"
        );
        assert!(a.is_userset_target("group", "member") && !a.is_userset_target("doc", "reader"));
        let r = a.reach(&("doc".into(), "view".into()));
        assert_eq!(r.nodes[0], ("doc".to_owned(), "view".to_owned()));
        // every component only depends on earlier ones and itself
        let pos: Vec<usize> = (0..r.nodes.len()).map(|n| r.comp[n]).collect();
        for (n, node) in r.nodes.iter().enumerate() {
            for d in a.deps(&node.0, &node.1) {
                assert!(pos[r.index[d]] <= pos[n], "{node:?} -> {d:?}");
            }
        }
        let member = r.index[&("group".to_owned(), "member".to_owned())];
        assert!(r.recursive[r.comp[member]]);
    }

    #[test]
    fn relations_reach_subjects_through_usersets_computed_relations_and_arrows() {
        let schema = Schema::parse_spicedb(
            "definition user {}\ndefinition folder {}\ndefinition team {\n  relation member: user | team#member\n  relation owner: folder\n}\ndefinition doc {\n  relation parent: team\n  relation viewer: team#member\n  relation owner: folder\n  relation public: user:*\n  permission view = viewer + parent->member\n  permission own = owner\n  permission see = public - owner\n}\n",
        )
        .unwrap();
        let a = Analysis::new(&schema);
        let users = a.reaching("user", None);
        for (t, r) in [
            ("team", "member"),
            ("doc", "viewer"),
            ("doc", "view"),
            ("doc", "public"),
            ("doc", "see"),
        ] {
            assert!(users.has(t, r), "{t}#{r}");
        }
        for (t, r) in [
            ("team", "owner"),
            ("doc", "own"),
            ("doc", "parent"),
            ("doc", "nope"),
        ] {
            assert!(!users.has(t, r), "{t}#{r}");
        }
        let folders = a.reaching("folder", None);
        assert!(folders.has("doc", "own") && folders.has("doc", "see"));
        assert!(!folders.has("doc", "view"));
        let members = a.reaching("team", Some("member"));
        assert!(members.has("doc", "viewer") && members.has("team", "member"));
        assert!(!members.has("doc", "own"));
        assert!(!a.reaching("nope", None).has("doc", "view"));
        assert!(!a.reaching("doc", Some("nope")).has("doc", "view"));
    }
}
