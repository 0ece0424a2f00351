//! Memory backend through the manager at 100k sessions: `check_permission` on 1 task and on 2
//! threads, store throughput; a hand-rolled `RwLock<HashMap<String, HashSet<String>>>` check
//! side by side (std's hasher and foldhash). Every timed loop draws its keys from all the
//! sessions and asserts after the loop that every answer was right.
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

/// Runs `iters` checks through the manager on one current-thread runtime, on sessions drawn
/// from all of them, and asserts that every answer is `true` (each session holds the permission).
fn timed_checks(
    rt: &tokio::runtime::Runtime,
    manager: &psm::PermissionStorageManager,
    ids: &[String],
    rng: &mut XorShift,
    permission: &str,
    iters: u64,
) -> Duration {
    rt.block_on(async {
        let mut hits = 0u64;
        let started = Instant::now();
        for _ in 0..iters {
            let id = &ids[rng.below(ids.len())];
            hits += u64::from(black_box(
                manager.check_permission(id, permission).await.unwrap(),
            ));
        }
        let elapsed = started.elapsed();
        assert_eq!(hits, iters, "every session holds {permission}");
        elapsed
    })
}

/// The same loop over a hand-rolled map with hasher `S`: what a user writing the naive map gets.
fn timed_plain<S: std::hash::BuildHasher>(
    plain: &RwLock<HashMap<String, HashSet<String, S>, S>>,
    ids: &[String],
    rng: &mut XorShift,
    iters: u64,
) -> Duration {
    let mut hits = 0u64;
    let started = Instant::now();
    for _ in 0..iters {
        let id = &ids[rng.below(ids.len())];
        hits += u64::from(black_box(
            plain
                .read()
                .get(id.as_str())
                .is_some_and(|s| s.contains("write")),
        ));
    }
    let elapsed = started.elapsed();
    assert_eq!(hits, iters, "every session holds write");
    elapsed
}

fn plain_map<S: std::hash::BuildHasher + Default>() -> RwLock<HashMap<String, HashSet<String, S>, S>>
{
    RwLock::new(
        (0..SESSIONS)
            .map(|i| (sid(i), PERMS.iter().map(|p| p.to_string()).collect()))
            .collect(),
    )
}

fn check(c: &mut Criterion) {
    let rt = runtime();
    let manager = filled_manager(&rt);
    // every session is a candidate key: the working set is the whole data set
    let ids: Vec<String> = (0..SESSIONS).map(sid).collect();
    let mut group = c.benchmark_group("memory/check_100k_sessions");
    group.throughput(Throughput::Elements(1));
    let mut rng = XorShift::new(7);
    group.bench_function("psm_manager_check/1_task", |b| {
        b.iter_custom(|iters| timed_checks(&rt, &manager, &ids, &mut rng, "write", iters))
    });
    let mut rng = XorShift::new(11);
    group.bench_function("psm_manager_check_pattern/1_task", |b| {
        b.iter_custom(|iters| timed_checks(&rt, &manager, &ids, &mut rng, "admin:users", iters))
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
                        timed_checks(&rt, &manager, ids, &mut rng, "write", per_thread);
                    });
                }
            });
            // wall time for `iters` checks spread over 2 threads
            started
                .elapsed()
                .mul_f64(iters as f64 / (2 * per_thread) as f64)
        })
    });

    // The hand-rolled baselines: no TTL, no validation, no patterns. With std's default
    // hasher (SipHash: what the naive map is) and with foldhash (what psm itself uses).
    let plain = plain_map::<std::hash::RandomState>();
    let mut rng = XorShift::new(13);
    group.bench_function("hand_rolled_rwlock_hashmap/1_thread", |b| {
        b.iter_custom(|iters| timed_plain(&plain, &ids, &mut rng, iters))
    });
    drop(plain);
    let plain = plain_map::<foldhash::fast::RandomState>();
    let mut rng = XorShift::new(17);
    group.bench_function("hand_rolled_rwlock_hashmap_foldhash/1_thread", |b| {
        b.iter_custom(|iters| timed_plain(&plain, &ids, &mut rng, iters))
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
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut stored = 0u64;
                let started = Instant::now();
                for _ in 0..iters {
                    i += 1;
                    let id = sid(i % SESSIONS);
                    let session = manager
                        .store_permissions(&id, "user-1", PERMS, Some(Duration::from_secs(3600)))
                        .await
                        .unwrap();
                    stored += u64::from(black_box(session.session_id == id));
                }
                let elapsed = started.elapsed();
                assert_eq!(stored, iters, "every store returns the stored session");
                elapsed
            })
        })
    });
    group.finish();
}

criterion_group!(benches, check, store);
criterion_main!(benches);
