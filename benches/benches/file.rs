//! File backend: `store_session` with fsync on (1 task; 64 tasks sharing group commits) and
//! `check_permission` from the in-memory image (1 task; 64 tasks), with the memory backend's
//! check side by side. Keys vary over all 10,000 sessions; even sessions hold `write` and odd
//! ones do not, and every answer is counted and asserted after its loop. Under `cargo xtask
//! bench` the Python library's file provider, timed on the same operations just before, is
//! printed beside psm's figures.
// Bench harness code, not a library path: failing loudly on setup errors is intended.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use psm_benches::{Tally, XorShift, print_beside_python};
use psm_core::{NewSession, SessionStore};
use psm_file::{FileConfig, FileStore};
use psm_memory::MemoryStore;

const SESSIONS: usize = 10_000;
const PERMS: [&str; 5] = ["read", "write", "delete", "list", "admin:*"];
/// Grants of odd sessions: the same size, without `write`.
const PERMS_ODD: [&str; 5] = ["read", "audit", "delete", "list", "admin:*"];
const TASKS: u64 = 64;

fn sid(i: usize) -> String {
    format!("sess-{i:08}")
}

fn current_thread() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    }
}

fn multi_thread() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    }
}

/// Every session id, in order (`check_ids()[k]` is session `k`).
fn check_ids() -> &'static [String] {
    static IDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    IDS.get_or_init(|| (0..SESSIONS).map(sid).collect())
}

/// Whether session `k` holds `write`.
fn expected(k: usize) -> bool {
    k.is_multiple_of(2)
}

fn new_session(i: usize) -> NewSession {
    NewSession::new(sid(i), format!("user-{}", i / 2))
        .permissions(if expected(i) { PERMS } else { PERMS_ODD })
        .ttl(Duration::from_secs(3600))
}

/// Operations and wall time summed over every criterion batch of one bench, for its rate.
#[derive(Debug, Default)]
struct Clocked {
    ops: u64,
    took: Duration,
}

impl Clocked {
    fn add(&mut self, ops: u64, took: Duration) -> Duration {
        self.ops += ops;
        self.took += took;
        took
    }

    fn rate(&self) -> f64 {
        self.ops as f64 / self.took.as_secs_f64()
    }
}

async fn open(dir: &std::path::Path, fsync: bool) -> Arc<dyn SessionStore> {
    let config = FileConfig::new(dir).fsync(fsync).cleanup_interval(None);
    match FileStore::open(config).await {
        Ok(s) => Arc::new(s),
        Err(e) => panic!("open: {e}"),
    }
}

async fn fill(store: &Arc<dyn SessionStore>) {
    // 64 concurrent writers so the fill itself uses group commit
    let mut tasks = Vec::new();
    for t in 0..TASKS as usize {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in (t..SESSIONS).step_by(TASKS as usize) {
                if let Err(e) = store.store_session(new_session(i)).await {
                    panic!("fill: {e}");
                }
            }
        }));
    }
    for t in tasks {
        if let Err(e) = t.await {
            panic!("fill: {e}");
        }
    }
}

/// Wall time of `iters` operations spread over 64 tasks: task `t` runs `op(store, t, n)`, which
/// performs `n` operations and returns the tally of their answers (merged into `tally`).
fn on_64_tasks<Op, Fut>(
    rt: &tokio::runtime::Runtime,
    store: &Arc<dyn SessionStore>,
    iters: u64,
    tally: &mut Tally,
    op: Op,
) -> Duration
where
    Op: Fn(Arc<dyn SessionStore>, u64, u64) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = Tally> + Send + 'static,
{
    let per_task = iters.div_ceil(TASKS);
    let store = store.clone();
    let (took, all) = rt.block_on(async move {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            tasks.push(tokio::spawn(op(store.clone(), t, per_task)));
        }
        let mut all = Tally::new();
        for t in tasks {
            match t.await {
                Ok(t) => all.merge(t),
                Err(e) => panic!("task: {e}"),
            }
        }
        (started.elapsed(), all)
    });
    tally.merge(all);
    took.mul_f64(iters as f64 / (per_task * TASKS) as f64)
}

fn store(c: &mut Criterion) {
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => panic!("tempdir: {e}"),
    };
    let mut group = c.benchmark_group("file/store");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for fsync in [true, false] {
        let name = if fsync { "fsync_on" } else { "fsync_off" };
        let rt = current_thread();
        let store = rt.block_on(open(&tmp.path().join(format!("one-{name}")), fsync));
        let (mut i, mut tally, mut clocked) = (0usize, Tally::new(), Clocked::default());
        group.bench_function(format!("{name}/1_task"), |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for _ in 0..iters {
                    i = (i + 7919) % SESSIONS;
                    let stored = rt.block_on(store.store_session(new_session(i))).unwrap();
                    black_box(tally.record(stored.session_id == sid(i), true));
                }
                clocked.add(iters, started.elapsed())
            })
        });
        tally.assert_right(&format!("file store {name}/1_task"), false);
        if fsync {
            print_beside_python(
                "file/store/fsync_on/1_task",
                clocked.rate(),
                "file/store_permissions/1_task",
            );
        }
        let rt = multi_thread();
        let store = rt.block_on(open(&tmp.path().join(format!("many-{name}")), fsync));
        let mut tally = Tally::new();
        group.bench_function(format!("{name}/64_tasks"), |b| {
            b.iter_custom(|iters| {
                on_64_tasks(&rt, &store, iters, &mut tally, |store, t, n| async move {
                    let mut tally = Tally::new();
                    for i in 0..n {
                        let id = ((t * n + i) as usize).wrapping_mul(7919) % SESSIONS;
                        let stored = store.store_session(new_session(id)).await.unwrap();
                        tally.record(stored.session_id == sid(id), true);
                    }
                    tally
                })
            })
        });
        tally.assert_right(&format!("file store {name}/64_tasks"), false);
    }
    group.finish();
}

fn check(c: &mut Criterion) {
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => panic!("tempdir: {e}"),
    };
    let rt = multi_thread();
    let file = rt.block_on(async {
        let s = open(&tmp.path().join("check"), false).await;
        fill(&s).await;
        s
    });
    let memory: Arc<dyn SessionStore> = rt.block_on(async {
        let s: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
        fill(&s).await;
        s
    });
    let ids = check_ids();
    let mut group = c.benchmark_group("file/check_10k_sessions");
    group.throughput(Throughput::Elements(1));
    let one = current_thread();
    for (name, store) in [("file", file.clone()), ("memory", memory.clone())] {
        let (mut rng, mut tally, mut clocked) =
            (XorShift::new(7), Tally::new(), Clocked::default());
        group.bench_function(format!("{name}/1_task"), |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                one.block_on(async {
                    for _ in 0..iters {
                        let k = rng.below(ids.len());
                        let got = store.check_permission(&ids[k], "write").await.unwrap();
                        black_box(tally.record(got, expected(k)));
                    }
                });
                clocked.add(iters, started.elapsed())
            })
        });
        tally.assert_right(&format!("{name} check/1_task"), true);
        if name == "file" {
            print_beside_python(
                "file/check_10k_sessions/file/1_task",
                clocked.rate(),
                "file/check_permission/1_task",
            );
        }
        let mut tally = Tally::new();
        group.bench_function(format!("{name}/64_tasks"), |b| {
            b.iter_custom(|iters| {
                on_64_tasks(&rt, &store, iters, &mut tally, |store, t, n| async move {
                    let ids = check_ids();
                    let (mut rng, mut tally) = (XorShift::new(t + 1), Tally::new());
                    for _ in 0..n {
                        let k = rng.below(ids.len());
                        let got = store.check_permission(&ids[k], "write").await.unwrap();
                        black_box(tally.record(got, expected(k)));
                    }
                    tally
                })
            })
        });
        tally.assert_right(&format!("{name} check/64_tasks"), true);
    }
    group.finish();
}

criterion_group!(benches, store, check);
criterion_main!(benches);
