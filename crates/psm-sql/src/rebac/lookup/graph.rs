//! The dependency graph of a lookup: every `type#relation` the target permission can depend
//! on, split into strongly connected components in dependency order (Tarjan), so that each
//! component becomes one (possibly recursive) CTE over the components before it.

use std::collections::HashMap;

use psm_rebac::Schema;
use psm_rebac::schema::{Relation, Rewrite};

/// A `type#relation` node.
pub(crate) type Node = (String, String);

/// Nodes, their dependencies and their components.
#[derive(Debug)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    pub index: HashMap<Node, usize>,
    /// Component of each node.
    pub comp: Vec<usize>,
    /// Components in dependency order (a component only depends on earlier ones and itself).
    pub comps: Vec<Vec<usize>>,
    /// Whether a component depends on itself (needs `WITH RECURSIVE`).
    pub recursive: Vec<bool>,
}

/// The nodes one leaf of a rewrite on `object_type` refers to.
pub(crate) fn leaf_deps(
    schema: &Schema,
    object_type: &str,
    rel: &Relation,
    leaf: &Rewrite,
) -> Vec<Node> {
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

/// All nodes a rewrite refers to.
pub(crate) fn rewrite_deps(
    schema: &Schema,
    object_type: &str,
    rel: &Relation,
    rw: &Rewrite,
) -> Vec<Node> {
    let mut out = Vec::new();
    rw.for_each_leaf(&mut |leaf| out.extend(leaf_deps(schema, object_type, rel, leaf)));
    out.sort();
    out.dedup();
    out
}

impl Graph {
    /// The graph of everything `root` depends on (bounded by the schema's size).
    pub(crate) fn build(schema: &Schema, root: Node) -> Self {
        let mut nodes = vec![root.clone()];
        let mut index = HashMap::from([(root, 0usize)]);
        let mut deps: Vec<Vec<usize>> = Vec::new();
        let mut i = 0;
        while i < nodes.len() {
            let (t, r) = nodes[i].clone();
            let mut mine = Vec::new();
            if let Some(rel) = schema.relation(&t, &r) {
                for d in rewrite_deps(schema, &t, rel, &rel.rewrite) {
                    let next = nodes.len();
                    let id = *index.entry(d.clone()).or_insert_with(|| {
                        nodes.push(d);
                        next
                    });
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
        Graph {
            nodes,
            index,
            comp,
            comps,
            recursive,
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
