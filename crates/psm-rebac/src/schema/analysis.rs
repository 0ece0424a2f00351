//! One analysis of a schema, computed once when it is loaded and shared by every evaluator and
//! compiler (the engine, psm-sql's SQL compiler): the dependency graph of its relations (which
//! `type#relation` a rewrite refers to, through computed relations, userset subject types and
//! arrows), its strongly connected components in dependency order and which of them recurse,
//! which relations are monotone (unions of stored relationships, computed relations and
//! `->`/`.any` arrows all the way down: more relationships never remove a result), which are
//! closed plain relations (exactly their relationships, with closed userset subject types:
//! membership is plain reachability), which relations allow a caveat on a stored relationship,
//! and which pairs are userset subject types somewhere.

use std::collections::HashMap;

use super::model::{ArrowKind, Relation, Rewrite, Schema};

/// A `type#relation` node.
pub type Node = (String, String);

/// The facts about every relation of a schema. Build it with [`Analysis::new`] (the engine keeps
/// one: `Engine::analysis`).
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    nodes: Vec<Node>,
    index: HashMap<Node, usize>,
    deps: Vec<Vec<usize>>,
    comp: Vec<usize>,
    recursive_comp: Vec<bool>,
    monotone: Vec<bool>,
    closed: Vec<bool>,
    caveated: Vec<bool>,
    userset_target: Vec<bool>,
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
        for def in schema.definitions() {
            for rel in &def.relations {
                let n = (def.name.clone(), rel.name.clone());
                a.index.insert(n.clone(), a.nodes.len());
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
                let me = a.index[&(def.name.clone(), rel.name.clone())];
                let deps = rewrite_deps(schema, &def.name, rel, &rel.rewrite);
                a.deps.push(
                    deps.iter()
                        .filter_map(|d| a.index.get(d).copied())
                        .collect(),
                );
                for al in &rel.allowed {
                    if let Some(r) = &al.relation
                        && let Some(&t) = a.index.get(&(al.object_type.clone(), r.clone()))
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
        a
    }

    fn at(&self, object_type: &str, relation: &str) -> Option<usize> {
        self.index
            .get(&(object_type.to_owned(), relation.to_owned()))
            .copied()
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
            if let Some(g) = self.index.get(&nodes[i]).copied() {
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
}
