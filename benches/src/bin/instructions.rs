//! `instructions CASE N`: sets up one hot path, then runs it N times and asserts the answers, for
//! `cargo xtask bench --instructions` (which runs it under callgrind at two values of N, counting
//! only inside [`timed`], and divides the difference in instructions by the difference in N, so
//! the loop's own set-up cancels out; set-up and tear-down, whose cost varies with the random
//! hash seeds, are not counted at all).
//! Keys vary over the whole data set (a fixed-seed generator picks them), and every answer is
//! counted and checked after the loop, so a broken path cannot look cheap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;

use permission_storage_manager as psm;
use psm_benches::rebac_graph;
use psm_core::{PermissionSet, SessionStore};

/// Sessions held by the session cases (every one is checked over the run).
const SESSIONS: usize = 10_000;
/// Grants of each session: a hit matches one of them, a miss none.
const PERMS: [&str; 4] = ["read", "write", "admin:*", "posts:*:read"];

/// The cases, in the order the table prints them.
const CASES: [&str; 9] = [
    "matcher_hit",
    "matcher_miss",
    "session_check_memory_manager",
    "session_check_memory_denied",
    "session_check_file_store",
    "acl_check_hit",
    "acl_check_miss",
    "rebac_check_depth4_1m",
    "rebac_lookup_per_result",
];

/// A fixed-seed xorshift generator: the same keys at every N, spread over the data set.
struct Keys(u64);

impl Keys {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The measured part of every case: callgrind counts only inside this function
/// (`--toggle-collect`), so set-up and tear-down do not blur the figure.
#[inline(never)]
fn timed<T>(run: impl FnOnce() -> T) -> T {
    run()
}

fn sid(i: usize) -> String {
    format!("sess-{i:08}")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (case, n) = match args.as_slice() {
        [_, case, n] => (case.as_str(), n.parse::<usize>().expect("N is a count")),
        [_, list] if list == "--list" => {
            for case in CASES {
                println!("{case}");
            }
            return;
        }
        _ => panic!("usage: instructions CASE N | --list (cases: {CASES:?})"),
    };
    let hits = match case {
        "matcher_hit" | "matcher_miss" => matcher(case == "matcher_hit", n),
        "session_check_memory_manager" => session_memory(n, "write"),
        "session_check_memory_denied" => session_memory(n, "delete"),
        "session_check_file_store" => session_file(n),
        "acl_check_hit" | "acl_check_miss" => acl(case == "acl_check_hit", n),
        "rebac_check_depth4_1m" => rebac_check(n),
        "rebac_lookup_per_result" => rebac_lookup(n),
        other => panic!("unknown case {other} (cases: {CASES:?})"),
    };
    println!("{case} {n} {hits}");
}

/// Checks permissions against 32 grants, a hit (one of 32 concrete grants) or a miss.
fn matcher(hit: bool, n: usize) -> usize {
    let grants: Vec<String> = (0..32).map(|i| format!("app:resource{i}:read")).collect();
    let set = PermissionSet::new(&grants).unwrap();
    let wanted: Vec<String> = (0..32)
        .map(|i| format!("app:resource{i}:{}", if hit { "read" } else { "write" }))
        .collect();
    let mut keys = Keys(0x9E37_79B9_7F4A_7C15);
    let count = timed(|| {
        let mut count = 0;
        for _ in 0..n {
            let p = &wanted[keys.below(wanted.len())];
            count += usize::from(black_box(set.check(black_box(p)).unwrap()));
        }
        count
    });
    assert_eq!(count, if hit { n } else { 0 }, "matcher answers");
    count
}

/// `check_permission` through the manager on `memory://` on a random session each time: a hit
/// (`write`, an exact grant) or a denial (`delete`: no grant, the patterns are tried).
fn session_memory(n: usize, permission: &str) -> usize {
    let rt = runtime();
    let (m, ids) = rt.block_on(async {
        let m = psm::PermissionStorageManager::connect("memory://?cleanup_interval=0")
            .await
            .unwrap();
        for i in 0..SESSIONS {
            m.store_permissions(&sid(i), &format!("user-{}", i / 2), PERMS, None)
                .await
                .unwrap();
        }
        let ids: Vec<String> = (0..SESSIONS).map(sid).collect();
        (m, ids)
    });
    let mut keys = Keys(0x2545_F491_4F6C_DD1D);
    let count = timed(|| {
        rt.block_on(async {
            let mut count = 0;
            for _ in 0..n {
                let id = &ids[keys.below(SESSIONS)];
                count += usize::from(black_box(m.check_permission(id, permission).await.unwrap()));
            }
            count
        })
    });
    let expected = if PERMS.contains(&permission) { n } else { 0 };
    assert_eq!(
        count, expected,
        "every session holds `write`, none `delete`"
    );
    count
}

/// `check_permission` on a `FileStore` (answered from its in-memory image of the directory).
fn session_file(n: usize) -> usize {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (m, ids) = rt.block_on(async {
        let config = psm_file::FileConfig::new(dir.path())
            .fsync(false)
            .cleanup_interval(None);
        let store: Arc<dyn SessionStore> =
            Arc::new(psm_file::FileStore::open(config).await.unwrap());
        let m = psm::PermissionStorageManager::new(store);
        for i in 0..SESSIONS {
            m.store_permissions(&sid(i), &format!("user-{}", i / 2), PERMS, None)
                .await
                .unwrap();
        }
        let ids: Vec<String> = (0..SESSIONS).map(sid).collect();
        (m, ids)
    });
    let mut keys = Keys(0x2545_F491_4F6C_DD1D);
    let count = timed(|| {
        rt.block_on(async {
            let mut count = 0;
            for _ in 0..n {
                let id = &ids[keys.below(SESSIONS)];
                count += usize::from(black_box(m.check_permission(id, "write").await.unwrap()));
            }
            count
        })
    });
    assert_eq!(count, n, "every session holds `write`");
    count
}

/// `Acl::check` over 10 roles × 100 resources × 10 permissions (10k grants).
fn acl(hit: bool, n: usize) -> usize {
    let mut acl = psm_acl::Acl::new();
    let triples = (0..10).flat_map(|r| {
        (0..100).flat_map(move |s| {
            (0..10).map(move |p| (format!("role{r}"), format!("res{s}"), format!("perm{p}")))
        })
    });
    acl.grant_many(triples).unwrap();
    let queries: Vec<(String, String, String)> = {
        let mut keys = Keys(0xD1B5_4A32_D192_ED03);
        (0..4096)
            .map(|_| {
                let perm = if hit {
                    keys.below(10)
                } else {
                    10 + keys.below(10)
                };
                (
                    format!("role{}", keys.below(10)),
                    format!("res{}", keys.below(100)),
                    format!("perm{perm}"),
                )
            })
            .collect()
    };
    let count = timed(|| {
        let mut count = 0;
        for i in 0..n {
            let (r, s, p) = &queries[i % queries.len()];
            count += usize::from(black_box(acl.check(r.as_str(), s.as_str(), p.as_str())));
        }
        count
    });
    assert_eq!(count, if hit { n } else { 0 }, "acl answers");
    count
}

/// The 1M-relationship graph of the criterion `rebac` bench in a `MemoryStore` (loaded directly,
/// no validation), with an engine over it.
fn rebac_engine() -> (psm_rebac::Engine, rebac_graph::Graph) {
    let mut graph = rebac_graph::generate();
    let store = Arc::new(psm_rebac::MemoryStore::new());
    store.extend(std::mem::take(&mut graph.rels));
    let schema = psm_rebac::Schema::parse_spicedb(rebac_graph::SCHEMA).unwrap();
    (psm_rebac::Engine::new(schema, store), graph)
}

/// `Engine::check` of `document#view` at depth 4 (a document in a level-4 folder: folder
/// parents up to the tree's root, whose viewer is a group nested 4 deep) on the 1M graph:
/// documents drawn over every tree, each asked alternately for a user whose groups reach the
/// tree (allowed) and for one whose groups reach another tree (denied, unless the generator made
/// them a direct viewer). The allowed count is asserted against the generator's model.
fn rebac_check(n: usize) -> usize {
    use rebac_graph::{L3, top_group, user_for_tree};
    let rt = runtime();
    let (engine, graph) = rebac_engine();
    let deep: Vec<usize> = (0..graph.docs.len())
        .filter(|&d| graph.docs[d].2.matches('_').count() == 4)
        .collect();
    let mut keys = Keys(0x5851_F42D_4C95_7F2D);
    let probes: Vec<(psm_rebac::ObjectRef, psm_rebac::SubjectRef, bool)> = (0..4096)
        .map(|i| {
            let (id, t, _, viewers) = &graph.docs[deep[keys.below(deep.len())]];
            let u = if i % 2 == 0 {
                user_for_tree(*t)
            } else {
                user_for_tree(t + 1 + keys.below(L3 - 1))
            };
            let allowed = viewers.contains(&u) || top_group(u) == t % L3;
            (
                format!("document:{id}").parse().unwrap(),
                format!("user:u{u}").parse().unwrap(),
                allowed,
            )
        })
        .collect();
    drop(graph);
    let order: Vec<usize> = (0..n).map(|_| keys.below(probes.len())).collect();
    let expected = order.iter().filter(|&&i| probes[i].2).count();
    assert!(expected > 0 && expected < n, "a mix of allowed and denied");
    // Warm up outside the count: the first requests after the set-up's large frees pay for
    // the allocator's consolidation, which would not cancel between the two runs.
    rt.block_on(async {
        for (doc, user, allowed) in probes.iter().take(16) {
            assert_eq!(engine.check(doc, "view", user).await.unwrap(), *allowed);
        }
    });
    let count = timed(|| {
        rt.block_on(async {
            let mut count = 0;
            for &i in &order {
                let (doc, user, _) = &probes[i];
                let got = engine.check(black_box(doc), "view", black_box(user)).await;
                count += usize::from(black_box(got.unwrap()));
            }
            count
        })
    });
    assert_eq!(count, expected, "rebac check answers");
    count
}

/// Documents under one folder tree: what a lookup from a tree root's `view` returns.
const LOOKUP_RESULTS: usize = rebac_graph::DOCS_PER_TREE;

/// `Engine::lookup_resources("document", "view", folder:tX#view)` on the 1M graph, from the
/// roots of trees drawn over all 200: each returns exactly the tree's 1,000 documents (folder
/// parents 5 deep, then document parents), so N results are N / 1,000 lookups and the figure is
/// instructions per returned result. Every result set is checked against the generator's model.
fn rebac_lookup(n: usize) -> usize {
    assert_eq!(n % LOOKUP_RESULTS, 0, "N is a multiple of {LOOKUP_RESULTS}");
    let rt = runtime();
    let (engine, graph) = rebac_engine();
    let mut by_tree: Vec<Vec<String>> = vec![Vec::new(); rebac_graph::TREES];
    for (id, t, _, _) in &graph.docs {
        by_tree[*t].push(id.clone());
    }
    for ids in &mut by_tree {
        ids.sort_unstable();
        assert_eq!(ids.len(), LOOKUP_RESULTS);
    }
    drop(graph);
    let mut keys = Keys(0x1405_7B7E_F767_814F);
    let trees: Vec<usize> = (0..n / LOOKUP_RESULTS)
        .map(|_| keys.below(rebac_graph::TREES))
        .collect();
    let roots: Vec<psm_rebac::SubjectRef> = trees
        .iter()
        .map(|t| format!("folder:t{t}#view").parse().unwrap())
        .collect();
    // Warm up outside the count (see `rebac_check`).
    let warm = rt.block_on(engine.lookup_resources("document", "view", &roots[0]));
    assert_eq!(warm.unwrap(), by_tree[trees[0]], "warm-up lookup");
    let found = timed(|| {
        rt.block_on(async {
            let mut found = Vec::with_capacity(roots.len());
            for root in &roots {
                let got = engine
                    .lookup_resources("document", "view", black_box(root))
                    .await;
                found.push(black_box(got.unwrap()));
            }
            found
        })
    });
    let mut count = 0;
    for (t, ids) in trees.iter().zip(&found) {
        assert_eq!(ids, &by_tree[*t], "lookup from tree {t}");
        count += ids.len();
    }
    drop(found);
    assert_eq!(count, n, "one result per operation");
    count
}
