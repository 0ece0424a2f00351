//! The generated 1M-relationship ReBAC graph shared by the criterion `rebac` bench and the
//! `instructions` binary: users in groups nested 4 deep, documents in folder trees 5 deep, and
//! the generator's own model of who may view what (the expected answers).

use std::sync::Arc;

use psm_rebac::{ObjectRef, Relationship, SubjectRef};

/// The schema of the graph.
pub const SCHEMA: &str = "
definition user {}
definition group { relation member: user | group#member }
definition folder {
    relation parent: folder
    relation viewer: user | group#member
    permission view = viewer + parent->view
}
definition document {
    relation parent: folder
    relation viewer: user | group#member
    permission view = viewer + parent->view
}";

/// Users.
pub const USERS: usize = 100_000;
/// Level-0 groups.
pub const L0: usize = 5_000; // 20 users each
/// Level-1 groups.
pub const L1: usize = 500; // 10 L0 groups each
/// Level-2 groups.
pub const L2: usize = 100; // 5 L1 groups each
/// Level-3 (top) groups.
pub const L3: usize = 20; // 5 L2 groups each
/// Folder trees.
pub const TREES: usize = 200; // folder trees, 5 levels, branching 3: 121 folders each
/// Documents per tree.
pub const DOCS_PER_TREE: usize = 1_000;
/// Relationships in all.
pub const TOTAL: usize = 1_000_000;

/// A small deterministic generator (splitmix64), so runs are comparable.
#[derive(Debug)]
pub struct Rng(pub u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// The next value in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The relationships and the model they were generated from.
#[derive(Debug)]
pub struct Graph {
    /// Every relationship.
    pub rels: Vec<Relationship>,
    /// Folder ids per tree, level by level (index 0 is the root).
    pub trees: Vec<Vec<Vec<String>>>,
    /// Documents: (id, tree, folder id, direct viewer users).
    pub docs: Vec<(String, usize, String, Vec<usize>)>,
}

fn obj(t: &Arc<str>, id: String) -> ObjectRef {
    ObjectRef::new(t.clone(), id)
}

/// Generates the graph (deterministic).
pub fn generate() -> Graph {
    let (user, group, folder, document): (Arc<str>, Arc<str>, Arc<str>, Arc<str>) = (
        "user".into(),
        "group".into(),
        "folder".into(),
        "document".into(),
    );
    let (member, parent, viewer): (Arc<str>, Arc<str>, Arc<str>) =
        ("member".into(), "parent".into(), "viewer".into());
    let mut rels = Vec::with_capacity(TOTAL);
    let g = |level: usize, i: usize| format!("l{level}_{i}");
    for u in 0..USERS {
        rels.push(Relationship::new(
            obj(&group, g(0, u % L0)),
            member.clone(),
            SubjectRef::object(user.clone(), format!("u{u}")),
        ));
    }
    for (level, (count, parents)) in [(L0, L1), (L1, L2), (L2, L3)].into_iter().enumerate() {
        for i in 0..count {
            rels.push(Relationship::new(
                obj(&group, g(level + 1, i * parents / count)),
                member.clone(),
                SubjectRef::userset(group.clone(), g(level, i), member.clone()),
            ));
        }
    }
    let mut trees = Vec::with_capacity(TREES);
    let mut docs = Vec::new();
    let mut rng = Rng(42);
    for t in 0..TREES {
        let mut levels: Vec<Vec<String>> = vec![vec![format!("t{t}")]];
        rels.push(Relationship::new(
            obj(&folder, format!("t{t}")),
            viewer.clone(),
            SubjectRef::userset(group.clone(), g(3, t % L3), member.clone()),
        ));
        for depth in 1..5 {
            let mut next = Vec::new();
            for p in &levels[depth - 1] {
                for k in 0..3 {
                    let id = format!("{p}_{k}");
                    rels.push(Relationship::new(
                        obj(&folder, id.clone()),
                        parent.clone(),
                        SubjectRef::object(folder.clone(), p.clone()),
                    ));
                    next.push(id);
                }
            }
            levels.push(next);
        }
        let all: Vec<&String> = levels.iter().flatten().collect();
        for d in 0..DOCS_PER_TREE {
            let f = all[rng.below(all.len())].clone();
            let id = format!("t{t}d{d}");
            rels.push(Relationship::new(
                obj(&document, id.clone()),
                parent.clone(),
                SubjectRef::object(folder.clone(), f.clone()),
            ));
            docs.push((id, t, f, Vec::new()));
        }
        trees.push(levels);
    }
    // Fill up to 1M with direct document viewers.
    let ndocs = docs.len();
    while rels.len() < TOTAL {
        let d = rng.below(ndocs);
        let u = rng.below(USERS);
        rels.push(Relationship::new(
            obj(&document, docs[d].0.clone()),
            viewer.clone(),
            SubjectRef::object(user.clone(), format!("u{u}")),
        ));
        docs[d].3.push(u);
    }
    Graph { rels, trees, docs }
}

/// A user whose single group chain reaches `L3` group `t % L3`, hence trees t, t+20, t+40, ...
pub fn user_for_tree(t: usize) -> usize {
    // user u is in l0_(u % L0); l0_i -> l1_(i/10) -> l2_(i/50) -> l3_(i/250).
    (t % L3) * (L0 / L3)
}

/// The top (L3) group user `u` reaches through its chain of nested groups.
pub fn top_group(u: usize) -> usize {
    let l0 = u % L0;
    let l1 = l0 * L1 / L0;
    let l2 = l1 * L2 / L1;
    l2 * L3 / L2
}
