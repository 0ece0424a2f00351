//! File backend: `store_session` with fsync on (1 task; 64 tasks sharing group commits) and
//! `check_permission` from the in-memory image (1 task; 64 tasks), with the memory backend's
//! check side by side. The Python library's file provider: 129 stores/s, 4,053 checks/s.
// Bench harness code, not a library path: failing loudly on setup errors is intended.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use psm_benches::XorShift;
use psm_core::{NewSession, SessionStore};
use psm_file::{FileConfig, FileStore};
use psm_memory::MemoryStore;

const SESSIONS: usize = 10_000;
const PERMS: [&str; 5] = ["read", "write", "delete", "list", "admin:*"];
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

/// The session ids checks pick from (spread over the 10k sessions).
fn check_ids() -> &'static [String] {
    static IDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    IDS.get_or_init(|| (0..4096).map(|i| sid((i * 7919) % SESSIONS)).collect())
}

fn new_session(i: usize) -> NewSession {
    NewSession::new(sid(i), format!("user-{}", i / 2))
        .permissions(PERMS)
        .ttl(Duration::from_secs(3600))
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
/// performs `n` operations.
fn on_64_tasks<Op, Fut>(
    rt: &tokio::runtime::Runtime,
    store: &Arc<dyn SessionStore>,
    iters: u64,
    op: Op,
) -> Duration
where
    Op: Fn(Arc<dyn SessionStore>, u64, u64) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let per_task = iters.div_ceil(TASKS);
    let store = store.clone();
    rt.block_on(async move {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            tasks.push(tokio::spawn(op(store.clone(), t, per_task)));
        }
        for t in tasks {
            if let Err(e) = t.await {
                panic!("task: {e}");
            }
        }
        started
            .elapsed()
            .mul_f64(iters as f64 / (per_task * TASKS) as f64)
    })
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
        let mut i = 0usize;
        group.bench_function(format!("{name}/1_task"), |b| {
            b.to_async(&rt).iter(|| {
                i += 1;
                let s = store.clone();
                let id = i % 1000;
                async move { black_box(s.store_session(new_session(id)).await.is_ok()) }
            })
        });
        let rt = multi_thread();
        let store = rt.block_on(open(&tmp.path().join(format!("many-{name}")), fsync));
        group.bench_function(format!("{name}/64_tasks"), |b| {
            b.iter_custom(|iters| {
                on_64_tasks(&rt, &store, iters, |store, t, n| async move {
                    for i in 0..n {
                        let id = (t * n + i) as usize % 4096;
                        if let Err(e) = store.store_session(new_session(id)).await {
                            panic!("store: {e}");
                        }
                    }
                })
            })
        });
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
        let mut rng = XorShift::new(7);
        group.bench_function(format!("{name}/1_task"), |b| {
            b.to_async(&one).iter(|| {
                let id = &ids[rng.below(ids.len())];
                let s = &store;
                async move { black_box(s.check_permission(id, "write").await.ok()) }
            })
        });
        group.bench_function(format!("{name}/64_tasks"), |b| {
            b.iter_custom(|iters| {
                on_64_tasks(&rt, &store, iters, |store, t, n| async move {
                    let ids = check_ids();
                    let mut rng = XorShift::new(t + 1);
                    for _ in 0..n {
                        let id = &ids[rng.below(ids.len())];
                        black_box(store.check_permission(id, "write").await.ok());
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, store, check);
criterion_main!(benches);
