//! SQL backend on PostgreSQL: `check_permission` and `store_session` latency (criterion, 1 task)
//! and throughput at 1 and 16 concurrent tasks (a timed loop, median of 3), side by side with
//! `pgbench -S` (select-only, prepared) at the same client count, with the ratio printed. Also
//! measures the check path with 4 and 16 read lanes and through sqlx's pool
//! (`check_connections=0`) with and without the acquire ping: the measurement behind psm-sql's
//! dedicated read connections (8 by default).
//!
//! Needs a PostgreSQL at `PSM_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! and `pgbench` on the PATH (the database `pgbench` is initialised with `pgbench -i -s 1` when
//! missing); skips with a message otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use psm_core::{NewSession, SessionStore};
use psm_sql::SqlStore;

const SESSIONS: usize = 1_000;
const PERMS: [&str; 5] = [
    "read:posts",
    "write:posts",
    "list",
    "admin:*",
    "posts:*:read",
];
const HIGH: usize = 16;
/// Length of one throughput run (as `pgbench -T`).
const RUN: Duration = Duration::from_secs(3);

fn url() -> String {
    std::env::var("PSM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// `(host, port, user)` of the URL, for pgbench.
fn pg_target() -> (String, String, String) {
    let url = url();
    let rest = url.split("://").nth(1).unwrap_or("");
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let (user, hosts) = authority
        .rsplit_once('@')
        .unwrap_or(("postgres", authority));
    let user = user.split(':').next().unwrap_or("postgres");
    let (host, port) = hosts.split_once(':').unwrap_or((hosts, "5432"));
    (host.to_owned(), port.to_owned(), user.to_owned())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn sid(i: usize) -> String {
    format!("bench-{i:06}")
}

fn open(rt: &tokio::runtime::Runtime, prefix: &str, options: &str) -> Option<Arc<SqlStore>> {
    let store_url = format!("{}?table_prefix={prefix}&default_ttl=10m{options}", url());
    rt.block_on(SqlStore::connect(&store_url))
        .map_err(|e| eprintln!("sql bench SKIPPED: {e}"))
        .ok()
        .map(Arc::new)
}

/// Runs `op` on `tasks` tasks for [`RUN`]; returns ops/s.
fn throughput<F, Fut>(rt: &tokio::runtime::Runtime, tasks: usize, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    rt.block_on(async {
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (op, next, stop) = (op.clone(), next.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        op(next.fetch_add(1, Ordering::Relaxed)).await;
                    }
                })
            })
            .collect();
        tokio::time::sleep(RUN).await;
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.await.unwrap();
        }
        next.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
    })
}

fn median3(mut f: impl FnMut() -> f64) -> f64 {
    median(&mut [f(), f(), f()])
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn pgbench(args: &[&str]) -> Option<std::process::Output> {
    let (host, port, user) = pg_target();
    Command::new("pgbench")
        .args(["-h", &host, "-p", &port, "-U", &user])
        .args(args)
        .output()
        .map_err(|e| eprintln!("pgbench unavailable: {e}"))
        .ok()
}

/// Initialises the `pgbench` database (scale 1) unless it is ready.
fn pgbench_ready() -> bool {
    let probe = pgbench(&["-S", "-t", "1", "-n", "pgbench"]);
    if probe.as_ref().is_some_and(|o| o.status.success()) {
        return true;
    }
    let (host, port, user) = pg_target();
    let _ = Command::new("createdb")
        .args(["-h", &host, "-p", &port, "-U", &user, "pgbench"])
        .output();
    pgbench(&["-i", "-s", "1", "-q", "pgbench"]).is_some_and(|o| o.status.success())
}

/// `pgbench -S -M prepared -c N -j N -T secs`: transactions per second.
fn pgbench_select(clients: usize) -> Option<f64> {
    let c = clients.to_string();
    let secs = RUN.as_secs().to_string();
    let out = pgbench(&[
        "-S", "-n", "-M", "prepared", "-c", &c, "-j", &c, "-T", &secs, "pgbench",
    ])?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("tps = "))?;
    line.trim_start_matches("tps = ")
        .split(' ')
        .next()?
        .parse()
        .ok()
}

fn check_rate(rt: &tokio::runtime::Runtime, store: &Arc<SqlStore>, tasks: usize) -> f64 {
    let s = store.clone();
    throughput(rt, tasks, move |i| {
        let s = s.clone();
        async move {
            let id = sid(i.wrapping_mul(7919) % SESSIONS);
            black_box(s.check_permission(&id, "admin:users").await.unwrap());
        }
    })
}

fn store_rate(rt: &tokio::runtime::Runtime, store: &Arc<SqlStore>, tasks: usize) -> f64 {
    let s = store.clone();
    throughput(rt, tasks, move |i| {
        let s = s.clone();
        async move {
            let new = NewSession::new(
                sid(i.wrapping_mul(7919) % SESSIONS),
                format!("user-{}", i % 100),
            )
            .permissions(PERMS);
            black_box(s.store_session(new).await.unwrap());
        }
    })
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let prefix = format!("psmbench{}_", std::process::id());
    let Some(store) = open(&rt, &prefix, "") else {
        return;
    };
    rt.block_on(async {
        for i in 0..SESSIONS {
            store
                .store_session(
                    NewSession::new(sid(i), format!("user-{}", i % 100)).permissions(PERMS),
                )
                .await
                .unwrap();
        }
    });

    let mut group = c.benchmark_group("sql_postgres");
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(30);
    let mut i = 0usize;
    group.bench_function("check_permission/1_task", |b| {
        b.to_async(&rt).iter(|| {
            i = i.wrapping_add(7919);
            let (store, id) = (store.clone(), sid(i % SESSIONS));
            async move { black_box(store.check_permission(&id, "admin:users").await.unwrap()) }
        })
    });
    group.bench_function("store_session/1_task", |b| {
        b.to_async(&rt).iter(|| {
            i = i.wrapping_add(7919);
            let (store, id) = (store.clone(), sid(i % SESSIONS));
            async move {
                let new = NewSession::new(id, format!("user-{}", i % 100)).permissions(PERMS);
                black_box(store.store_session(new).await.unwrap());
            }
        })
    });
    group.finish();

    let pgbench_ok = pgbench_ready();
    if !pgbench_ok {
        eprintln!("pgbench database unavailable: printing psm figures only");
    }
    for tasks in [1, HIGH] {
        // paired runs (psm, then pgbench, three times) so that load from elsewhere on the
        // machine hits both sides alike; the ratio is the median of the three pair ratios
        let mut ours = Vec::new();
        let mut ratios = Vec::new();
        let mut raws = Vec::new();
        for _ in 0..3 {
            let checks = check_rate(&rt, &store, tasks);
            ours.push(checks);
            if let Some(raw) = pgbench_ok.then(|| pgbench_select(tasks)).flatten() {
                raws.push(raw);
                ratios.push(checks / raw);
            }
        }
        let checks = median(&mut ours);
        if ratios.is_empty() {
            println!("sql/postgres/check_permission/{tasks}_tasks: psm {checks:>8.0} checks/s");
        } else {
            println!(
                "sql/postgres/check_permission/{tasks}_tasks: psm {checks:>8.0} checks/s | pgbench -S -M prepared -c {tasks}: {:>8.0} tps | ratio {:.2}x (median of 3 paired runs)",
                median(&mut raws),
                median(&mut ratios)
            );
        }
        let stores = median3(|| store_rate(&rt, &store, tasks));
        println!("sql/postgres/store_session/{tasks}_tasks: psm {stores:>8.0} stores/s");
    }

    // the same check with other read-lane counts, and through sqlx's pool instead of lanes
    for (label, options) in [
        ("4 read lanes", "&check_connections=4"),
        ("16 read lanes", "&check_connections=16"),
        (
            "pool, no acquire ping",
            "&check_connections=0&max_connections=16",
        ),
        (
            "pool, acquire ping (sqlx default)",
            "&check_connections=0&max_connections=16&test_before_acquire=true",
        ),
    ] {
        let Some(other) = open(&rt, &prefix, options) else {
            continue;
        };
        for tasks in [1, HIGH] {
            let rate = median3(|| check_rate(&rt, &other, tasks));
            println!(
                "sql/postgres/check_permission/{tasks}_tasks via {label}: {rate:>8.0} checks/s"
            );
        }
        rt.block_on(other.close()).unwrap();
    }

    rt.block_on(async {
        if let psm_sql::SqlPool::Postgres(pool) = store.pool() {
            for t in ["sessions", "migrations"] {
                let _ = psm_sql::sqlx::raw_sql(&format!("DROP TABLE IF EXISTS \"{prefix}{t}\""))
                    .execute(pool)
                    .await;
            }
        }
        store.close().await.unwrap();
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
