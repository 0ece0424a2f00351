//! Profiling driver for `Engine::check` at depth 4 on 1M relationships in the memory store
//! (users in groups nested 4 deep, documents in folder trees 5 deep: the dataset of
//! `benches/benches/rebac.rs`), for callgrind's load-independent instruction counts:
//!
//! ```text
//! cargo build --release -p psm-rebac --example rebac_check_profile
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*run_checks*' \
//!     target/release/examples/rebac_check_profile 20000
//! ```
//!
//! Instructions per check = the total of `run_checks` divided by the count given. Each round
//! asks one allowed and one denied check (the count is of checks, both kinds together).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;

use psm_rebac::{Engine, MemoryStore, ObjectRef, Relationship, Schema, SubjectRef};

const SCHEMA: &str = "
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

const USERS: usize = 100_000;
const L0: usize = 5_000;
const L1: usize = 500;
const L2: usize = 100;
const L3: usize = 20;
const TREES: usize = 200;
const DOCS_PER_TREE: usize = 1_000;
const TOTAL: usize = 1_000_000;

/// splitmix64, as in the criterion bench, so both build the same graph.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The relationships, and a document in the deepest folder level of tree 7.
fn generate() -> (Vec<Relationship>, String) {
    let rel = |s: String| -> Relationship { s.parse().unwrap() };
    let mut rels = Vec::with_capacity(TOTAL);
    for u in 0..USERS {
        rels.push(rel(format!("group:l0_{}#member@user:u{u}", u % L0)));
    }
    for (level, (count, parents)) in [(L0, L1), (L1, L2), (L2, L3)].into_iter().enumerate() {
        for i in 0..count {
            rels.push(rel(format!(
                "group:l{}_{}#member@group:l{level}_{i}#member",
                level + 1,
                i * parents / count
            )));
        }
    }
    let mut rng = Rng(42);
    let mut docs: Vec<(String, usize, String)> = Vec::new();
    let mut deep7 = String::new();
    for t in 0..TREES {
        let mut levels: Vec<Vec<String>> = vec![vec![format!("t{t}")]];
        rels.push(rel(format!(
            "folder:t{t}#viewer@group:l3_{}#member",
            t % L3
        )));
        for depth in 1..5 {
            let mut next = Vec::new();
            for p in &levels[depth - 1] {
                for k in 0..3 {
                    let id = format!("{p}_{k}");
                    rels.push(rel(format!("folder:{id}#parent@folder:{p}")));
                    next.push(id);
                }
            }
            levels.push(next);
        }
        if t == 7 {
            deep7 = levels[4][0].clone();
        }
        let all: Vec<&String> = levels.iter().flatten().collect();
        for d in 0..DOCS_PER_TREE {
            let f = all[rng.below(all.len())].clone();
            let id = format!("t{t}d{d}");
            rels.push(rel(format!("document:{id}#parent@folder:{f}")));
            docs.push((id, t, f));
        }
    }
    let ndocs = docs.len();
    while rels.len() < TOTAL {
        let d = rng.below(ndocs);
        let u = rng.below(USERS);
        rels.push(rel(format!("document:{}#viewer@user:u{u}", docs[d].0)));
    }
    let doc = docs
        .iter()
        .find(|d| d.1 == 7 && d.2 == deep7)
        .map_or_else(|| "t7d0".to_owned(), |d| d.0.clone());
    (rels, doc)
}

#[inline(never)]
fn run_checks(
    rt: &tokio::runtime::Runtime,
    engine: &Engine,
    doc: &ObjectRef,
    who: &[SubjectRef; 2],
    n: usize,
) -> usize {
    let mut hits = 0;
    for i in 0..n {
        let s = &who[i & 1];
        let ok = rt
            .block_on(black_box(engine).check(black_box(doc), "view", black_box(s)))
            .unwrap();
        hits += usize::from(ok);
    }
    hits
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let (rels, doc) = generate();
    let store = Arc::new(MemoryStore::new());
    store.extend(rels);
    let engine = Engine::new(Schema::parse_spicedb(SCHEMA).unwrap(), store);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let doc: ObjectRef = format!("document:{doc}").parse().unwrap();
    // user u is in l0_(u % L0); l0_i -> l1_(i/10) -> l2_(i/50) -> l3_(i/250); tree t is
    // viewed by l3_(t % L3).
    let alice: SubjectRef = format!("user:u{}", 7 * (L0 / L3)).parse().unwrap();
    let stranger: SubjectRef = format!("user:u{}", 8 * (L0 / L3)).parse().unwrap();
    let who = [alice, stranger];
    let t = std::time::Instant::now();
    let hits = run_checks(&rt, &engine, &doc, &who, n);
    let per = t.elapsed().as_nanos() as f64 / n as f64;
    assert_eq!(hits, n.div_ceil(2));
    println!("{n} checks, half allowed, {per:.1} ns per check (wall clock)");
}
