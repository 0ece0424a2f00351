//! `cargo xtask bench-rebac` (this example, built in release): psm-rebac at scale through the API `psm serve` uses (the generic
//! `Engine` over a store, which picks the store's capabilities itself): check p50/p99 at 1 and
//! 16 concurrent requests and the largest `lookup_resources`, on memory, SQLite (a file) and
//! PostgreSQL, every answer compared with memory's; and the import rates into the SQL stores
//! (`write` of touches on a sample, and the bulk import `psm rebac import` uses).
//!
//! The dataset: users; groups nested 5 deep; organisations with
//! `membership = (member + admin) - banned`; folders with a parent chain; documents with
//! `view = (reader + edit + folder->view) - banned` and
//! `confidential_view = view & org->membership`, 2% of them public through `user:*`.
//!
//! Arguments (after `--`): `--relationships N` (repeatable; default 100000 and 1000000),
//! `--stores memory,sqlite,postgres`, `--checks N` (requests per measurement, default 2000).
//! `--export DIR` writes the first size's dataset instead of measuring (`schema.zed`,
//! `relationships.txt`, `checks.tsv` of `resource<TAB>permission<TAB>subject`, `heavy.txt`):
//! `cargo xtask bench-rebac -- --http` loads it into `psm serve` and measures over HTTP.
//! PostgreSQL is `$PSM_TEST_POSTGRES_URL` (default the local `test` database), in tables of
//! its own (`table_prefix=psm_bench_`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use psm_rebac::{
    Engine, MemoryStore, ObjectRef, Relationship, RelationshipUpdate, Schema, SubjectRef,
    TupleStore,
};
use psm_sql::rebac::SqlTupleStore;

const SCHEMA: &str = "
definition user {}
definition group { relation member: user | group#member }
definition org {
    relation member: user | group#member
    relation admin: user
    relation banned: user
    permission membership = (member + admin) - banned
}
definition folder {
    relation parent: folder
    relation reader: user | group#member
    permission view = reader + parent->view
}
definition document {
    relation folder: folder
    relation org: org
    relation reader: user | user:* | group#member
    relation editor: user | group#member
    relation banned: user
    permission edit = editor
    permission view = (reader + edit + folder->view) - banned
    permission confidential_view = view & org->membership
}";

/// Group levels: level 0 holds users, level k+1 holds the groups of level k (5 deep).
const LEVELS: usize = 5;
/// Folders per tree: 1 + 4 + 16 + 64 (a parent chain 4 deep).
const FOLDERS_PER_TREE: usize = 85;
/// Organisations.
const ORGS: usize = 20;

/// splitmix64: a deterministic dataset.
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
        (self.next() % n.max(1) as u64) as usize
    }
}

struct Dataset {
    rels: Vec<Relationship>,
    users: usize,
    docs: usize,
    /// The user with the most documents through groups (the large lookup's subject).
    heavy: String,
}

fn generate(target: usize) -> Dataset {
    let r = |s: String| -> Relationship { s.parse().unwrap() };
    let mut rng = Rng(7);
    let users = (target / 20).max(100);
    let docs = (target * 10 / 54).max(50);
    let trees = (docs / 1000).max(2);
    let mut rels = Vec::with_capacity(target + 1000);
    // groups: 10 users per level-0 group, 5 groups of a level per group of the next
    let mut level_sizes = vec![(users / 10).max(1)];
    for _ in 1..LEVELS {
        let last = *level_sizes.last().unwrap();
        level_sizes.push((last / 5).max(1));
    }
    for u in 0..users {
        rels.push(r(format!(
            "group:l0_{}#member@user:u{u}",
            u % level_sizes[0]
        )));
    }
    for level in 1..LEVELS {
        for g in 0..level_sizes[level - 1] {
            rels.push(r(format!(
                "group:l{level}_{}#member@group:l{}_{g}#member",
                g % level_sizes[level],
                level - 1
            )));
        }
    }
    let top = LEVELS - 1;
    for o in 0..ORGS {
        rels.push(r(format!(
            "org:o{o}#member@group:l{top}_{}#member",
            o % level_sizes[top]
        )));
        for _ in 0..5 {
            rels.push(r(format!("org:o{o}#admin@user:u{}", rng.below(users))));
            rels.push(r(format!("org:o{o}#banned@user:u{}", rng.below(users))));
        }
    }
    // folders: tree t's root is read by a level-3 group; a few users read subfolders
    let l3 = level_sizes[3];
    for t in 0..trees {
        rels.push(r(format!(
            "folder:t{t}_0#reader@group:l3_{}#member",
            t % l3
        )));
        for f in 1..FOLDERS_PER_TREE {
            rels.push(r(format!(
                "folder:t{t}_{f}#parent@folder:t{t}_{}",
                (f - 1) / 4
            )));
            if f % 8 == 0 {
                rels.push(r(format!(
                    "folder:t{t}_{f}#reader@user:u{}",
                    rng.below(users)
                )));
            }
        }
    }
    for d in 0..docs {
        let t = rng.below(trees);
        // documents sit in the deepest folders mostly
        let f = 21 + rng.below(FOLDERS_PER_TREE - 21);
        rels.push(r(format!("document:d{d}#folder@folder:t{t}_{f}")));
        rels.push(r(format!("document:d{d}#org@org:o{}", rng.below(ORGS))));
        rels.push(r(format!(
            "document:d{d}#reader@user:u{}",
            rng.below(users)
        )));
        rels.push(r(format!(
            "document:d{d}#editor@user:u{}",
            rng.below(users)
        )));
        if rng.below(50) == 0 {
            rels.push(r(format!("document:d{d}#reader@user:*")));
        }
        if rng.below(10) == 0 {
            rels.push(r(format!(
                "document:d{d}#banned@user:u{}",
                rng.below(users)
            )));
        }
        if rng.below(4) == 0 {
            rels.push(r(format!(
                "document:d{d}#reader@group:l{}_{}#member",
                1,
                rng.below(level_sizes[1])
            )));
        }
    }
    rels.sort();
    rels.dedup();
    // user 0 is in l0_0 -> ... -> l3_0, the reader of trees 0, l3, 2*l3, ...
    Dataset {
        rels,
        users,
        docs,
        heavy: "user:u0".to_owned(),
    }
}

struct Args {
    sizes: Vec<usize>,
    stores: Vec<String>,
    checks: usize,
    export: Option<std::path::PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        sizes: Vec::new(),
        stores: vec!["memory".into(), "sqlite".into(), "postgres".into()],
        checks: 2000,
        export: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--relationships" => a.sizes.push(it.next().unwrap().parse().unwrap()),
            "--stores" => {
                a.stores = it.next().unwrap().split(',').map(str::to_owned).collect();
            }
            "--checks" => a.checks = it.next().unwrap().parse().unwrap(),
            "--export" => a.export = Some(it.next().unwrap().into()),
            other => panic!("unknown argument {other}"),
        }
    }
    if a.sizes.is_empty() {
        a.sizes = vec![100_000, 1_000_000];
    }
    a
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

type Request = (ObjectRef, &'static str, SubjectRef);

fn requests(data: &Dataset, n: usize) -> Vec<Request> {
    let mut rng = Rng(99);
    (0..n)
        .map(|i| {
            let doc = ObjectRef::new("document", format!("d{}", rng.below(data.docs)));
            // a third of the subjects are user u0..u9 (deep group chains, many grants)
            let user = if i % 3 == 0 {
                rng.below(10)
            } else {
                rng.below(data.users)
            };
            let perm = if i % 5 == 0 {
                "confidential_view"
            } else {
                "view"
            };
            (doc, perm, format!("user:u{user}").parse().unwrap())
        })
        .collect()
}

/// Runs every request with `concurrency` tasks; latencies and answers in request order.
async fn run_checks(
    engine: &Engine,
    reqs: &Arc<Vec<Request>>,
    concurrency: usize,
) -> (Vec<Duration>, Vec<bool>) {
    let mut handles = Vec::new();
    for w in 0..concurrency {
        let (engine, reqs) = (engine.clone(), reqs.clone());
        handles.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (w..reqs.len()).step_by(concurrency) {
                let (o, p, s) = &reqs[i];
                let t = Instant::now();
                let ok = engine.check(o, p, s).await.unwrap();
                out.push((i, t.elapsed(), ok));
            }
            out
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all.sort_by_key(|x| x.0);
    (
        all.iter().map(|x| x.1).collect(),
        all.iter().map(|x| x.2).collect(),
    )
}

async fn open(store: &str, data: &Dataset) -> Option<(Arc<dyn TupleStore>, Duration)> {
    let t = Instant::now();
    let s: Arc<dyn TupleStore> = match store {
        "memory" => {
            let m = MemoryStore::new();
            m.extend(data.rels.iter().cloned());
            Arc::new(m)
        }
        "sqlite" | "postgres" => {
            let url = if store == "sqlite" {
                let dir = std::env::temp_dir().join("psm-bench-rebac");
                std::fs::create_dir_all(&dir).unwrap();
                let path = dir.join(format!("r{}.db", data.rels.len()));
                let _ = std::fs::remove_file(&path);
                format!("sqlite://{}", path.display())
            } else {
                let base = std::env::var("PSM_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}table_prefix=psm_bench_")
            };
            let sql = match SqlTupleStore::connect(&url).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{store}: cannot connect ({e}), skipped");
                    return None;
                }
            };
            sql.delete_all().await.unwrap();
            // The import path before the bulk capability: writes of 1000 touches (a sample).
            let sample = data.rels.len().min(20_000);
            let t = Instant::now();
            for chunk in data.rels[..sample].chunks(1000) {
                let updates: Vec<RelationshipUpdate> = chunk
                    .iter()
                    .cloned()
                    .map(RelationshipUpdate::touch)
                    .collect();
                sql.write(&updates, &[]).await.unwrap();
            }
            let took = t.elapsed();
            println!(
                "{store}: write of touches (1000 a write), first {sample} relationships in {:.1} s = {:.0} relationships/s",
                took.as_secs_f64(),
                sample as f64 / took.as_secs_f64()
            );
            sql.delete_all().await.unwrap();
            // `psm rebac import`'s path: the store's bulk import, 10,000 a call.
            let bulk = sql.bulk_import().expect("SQL stores offer a bulk import");
            let t = Instant::now();
            for chunk in data.rels.chunks(10_000) {
                bulk.import(chunk).await.unwrap();
            }
            bulk.finish().await.unwrap();
            let took = t.elapsed();
            println!(
                "{store}: bulk import (10,000 a call) of {} relationships in {:.1} s = {:.0} relationships/s",
                data.rels.len(),
                took.as_secs_f64(),
                data.rels.len() as f64 / took.as_secs_f64()
            );
            Arc::new(sql)
        }
        other => panic!("unknown store {other}"),
    };
    Some((s, t.elapsed()))
}

async fn bench_size(a: &Args, target: usize) {
    let data = generate(target);
    let heavy: SubjectRef = data.heavy.parse().unwrap();
    println!(
        "\n== {} relationships ({} users, {} documents) ==",
        data.rels.len(),
        data.users,
        data.docs
    );
    let reqs = Arc::new(requests(&data, a.checks));
    let schema = Schema::parse_spicedb(SCHEMA).unwrap();
    let mut reference: Option<(Vec<bool>, Vec<String>)> = None;
    let mut memory_figures: Option<(Duration, Duration)> = None;
    for store in &a.stores {
        let Some((s, load)) = open(store, &data).await else {
            continue;
        };
        let engine = Engine::new(schema.clone(), s);
        // warm-up (statement caches, pages)
        let warm = Arc::new(reqs[..reqs.len().min(200)].to_vec());
        let _ = run_checks(&engine, &warm, 4).await;
        let mut line = format!("{store:8} loaded in {:.1} s;", load.as_secs_f64());
        let mut answers1 = Vec::new();
        let mut p50_1 = Duration::ZERO;
        for conc in [1, 16] {
            let (mut lat, answers) = run_checks(&engine, &reqs, conc).await;
            lat.sort();
            line.push_str(&format!(
                " check@{conc}: p50 {} p99 {};",
                ms(pct(&lat, 0.5)),
                ms(pct(&lat, 0.99))
            ));
            if conc == 1 {
                answers1 = answers.clone();
                p50_1 = pct(&lat, 0.5);
                if store == "memory" {
                    memory_figures = Some((pct(&lat, 0.5), Duration::ZERO));
                }
            }
            assert_eq!(answers, answers1, "{store}: answers differ between runs");
        }
        let mut times = Vec::new();
        let mut found = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            found = engine
                .lookup_resources("document", "view", &heavy)
                .await
                .unwrap();
            times.push(t.elapsed());
        }
        times.sort();
        let granted = answers1.iter().filter(|x| **x).count();
        line.push_str(&format!(
            " lookup_resources ({} results): median {} (min {}); {granted}/{} checks granted",
            found.len(),
            ms(times[1]),
            ms(times[0]),
            answers1.len()
        ));
        if store == "memory"
            && let Some(m) = &mut memory_figures
        {
            m.1 = times[1];
        }
        match &reference {
            None => reference = Some((answers1, found)),
            Some((want_checks, want_found)) => {
                assert_eq!(
                    &answers1, want_checks,
                    "{store}: check answers differ from the first store's"
                );
                assert_eq!(
                    &found, want_found,
                    "{store}: lookup differs from the first store's"
                );
                line.push_str(" answers identical to the first store's");
            }
        }
        println!("{line}");
        if store != "memory"
            && let Some((c, l)) = memory_figures
        {
            println!(
                "{store:8} vs memory: check p50 ×{:.1}, lookup ×{:.1}",
                p50_1.as_secs_f64() / c.as_secs_f64().max(1e-9),
                times[1].as_secs_f64() / l.as_secs_f64().max(1e-9)
            );
        }
    }
}

/// Writes the dataset of `target` relationships and its check requests under `dir`.
fn export(a: &Args, target: usize, dir: &std::path::Path) -> std::io::Result<()> {
    use std::fmt::Write as _;
    let data = generate(target);
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("schema.zed"), SCHEMA)?;
    let mut rels = String::with_capacity(data.rels.len() * 48);
    for rel in &data.rels {
        writeln!(rels, "{rel}").unwrap();
    }
    std::fs::write(dir.join("relationships.txt"), rels)?;
    let mut checks = String::new();
    for (o, p, s) in requests(&data, a.checks) {
        writeln!(checks, "{o}\t{p}\t{s}").unwrap();
    }
    std::fs::write(dir.join("checks.tsv"), checks)?;
    std::fs::write(dir.join("heavy.txt"), &data.heavy)?;
    println!(
        "wrote {} relationships ({} users, {} documents) and {} checks to {}",
        data.rels.len(),
        data.users,
        data.docs,
        a.checks,
        dir.display()
    );
    Ok(())
}

fn main() {
    let a = args();
    if let Some(dir) = &a.export {
        export(&a, a.sizes[0], dir).unwrap();
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sizes = a.sizes.clone();
    for n in sizes {
        rt.block_on(bench_size(&a, n));
    }
}
