//! Memory backend through the manager at 100k sessions: `check_permission` on 1 task and on 2
//! threads, store throughput; a hand-rolled `RwLock<HashMap<String, HashSet<String>>>` check
//! side by side.
// Bench harness code, not a library path: failing loudly on setup errors is intended.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use parking_lot::RwLock;
use permission_storage_manager as psm;
use psm_benches::XorShift;

const SESSIONS: usize = 100_000;
const PERMS: [&str; 5] = ["read", "write", "delete", "list", "admin:*"];

fn sid(i: usize) -> String {
    format!("sess-{i:08}")
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    }
}

fn filled_manager(rt: &tokio::runtime::Runtime) -> psm::PermissionStorageManager {
    rt.block_on(async {
        let m = psm::PermissionStorageManager::connect("memory://?cleanup_interval=0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for i in 0..SESSIONS {
            m.store_permissions(&sid(i), &format!("user-{}", i / 2), PERMS, None)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        m
    })
}

fn check(c: &mut Criterion) {
    let rt = runtime();
    let manager = filled_manager(&rt);
    let ids: Vec<String> = (0..4096).map(|i| sid((i * 7919) % SESSIONS)).collect();
    let mut group = c.benchmark_group("memory/check_100k_sessions");
    group.throughput(Throughput::Elements(1));
    let mut rng = XorShift::new(7);
    group.bench_function("psm_manager_check/1_task", |b| {
        b.to_async(&rt).iter(|| {
            let id = &ids[rng.below(ids.len())];
            let m = &manager;
            async move { black_box(m.check_permission(id, "write").await) }
        })
    });
    let mut rng = XorShift::new(11);
    group.bench_function("psm_manager_check_pattern/1_task", |b| {
        b.to_async(&rt).iter(|| {
            let id = &ids[rng.below(ids.len())];
            let m = &manager;
            async move { black_box(m.check_permission(id, "admin:users").await) }
        })
    });

    // 2 threads, each with its own current-thread runtime over the shared manager.
    group.bench_function("psm_manager_check/2_threads", |b| {
        b.iter_custom(|iters| {
            let per_thread = iters / 2 + 1;
            let started = Instant::now();
            std::thread::scope(|s| {
                for t in 0..2u64 {
                    let manager = manager.clone();
                    let ids = &ids;
                    s.spawn(move || {
                        let rt = runtime();
                        let mut rng = XorShift::new(t + 3);
                        rt.block_on(async {
                            for _ in 0..per_thread {
                                let id = &ids[rng.below(ids.len())];
                                black_box(manager.check_permission(id, "write").await.ok());
                            }
                        });
                    });
                }
            });
            // wall time for `iters` checks spread over 2 threads
            started
                .elapsed()
                .mul_f64(iters as f64 / (2 * per_thread) as f64)
        })
    });

    // The hand-rolled baseline: no TTL, no validation, no patterns.
    let plain: RwLock<HashMap<String, HashSet<String>>> = RwLock::new(
        (0..SESSIONS)
            .map(|i| (sid(i), PERMS.iter().map(|p| p.to_string()).collect()))
            .collect(),
    );
    let mut rng = XorShift::new(13);
    group.bench_function("hand_rolled_rwlock_hashmap/1_thread", |b| {
        b.iter(|| {
            let id = &ids[rng.below(ids.len())];
            black_box(
                plain
                    .read()
                    .get(id.as_str())
                    .is_some_and(|s| s.contains("write")),
            )
        })
    });
    group.finish();
}

fn store(c: &mut Criterion) {
    let rt = runtime();
    let manager = rt.block_on(async {
        psm::PermissionStorageManager::connect("memory://?cleanup_interval=0")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    });
    let manager = Arc::new(manager);
    let mut group = c.benchmark_group("memory/store");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    let mut i = 0usize;
    group.bench_function("psm_store_permissions/1_task", |b| {
        b.to_async(&rt).iter(|| {
            i += 1;
            let id = sid(i % SESSIONS);
            let m = manager.clone();
            async move {
                black_box(
                    m.store_permissions(&id, "user-1", PERMS, Some(Duration::from_secs(3600)))
                        .await
                        .is_ok(),
                )
            }
        })
    });
    group.finish();
}

criterion_group!(benches, check, store);
criterion_main!(benches);
