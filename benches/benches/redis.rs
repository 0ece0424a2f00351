//! Redis backend against the local server: `check_permission` and `store_session` latency
//! (criterion, 1 task) and throughput at 1 and 64 concurrent tasks (a measured loop), side by
//! side with `redis-benchmark` running the raw command each operation sends at the same
//! concurrency, with the ratio printed. Also measures a minimal server-side Lua check (EVALSHA)
//! against the client-side check, the measurement behind psm-redis's choice.
//!
//! Needs a Redis at `PSM_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`) and `redis-benchmark`
//! on the PATH; skips with a message otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use psm_core::{NewSession, SessionStore, StoreUrl};
use psm_redis::RedisStore;

const SESSIONS: usize = 1_000;
const PERMS: [&str; 5] = [
    "read:posts",
    "write:posts",
    "list",
    "admin:*",
    "posts:*:read",
];
const HIGH: usize = 64;
/// Operations per throughput run (as `redis-benchmark -n`).
const OPS_HIGH: usize = 200_000;
const OPS_ONE: usize = 20_000;

fn url() -> String {
    std::env::var("PSM_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn host_port() -> (String, String) {
    let url = url();
    let rest = url.trim_start_matches("redis://");
    let authority = rest.split(['/', '?']).next().unwrap_or("127.0.0.1:6379");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (h, p) = authority.split_once(':').unwrap_or((authority, "6379"));
    (h.to_owned(), p.to_owned())
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

struct Fixture {
    rt: tokio::runtime::Runtime,
    store: Arc<RedisStore>,
    prefix: String,
}

fn fixture() -> Option<Fixture> {
    let rt = runtime();
    let prefix = format!("psmbench:{}:", std::process::id());
    let store_url = format!("{}?key_prefix={prefix}&default_ttl=10m", url());
    let store = rt.block_on(async {
        let store = RedisStore::from_url(StoreUrl::parse(&store_url).ok()?)
            .await
            .map_err(|e| eprintln!("redis bench SKIPPED: {e}"))
            .ok()?;
        for i in 0..SESSIONS {
            store
                .store_session(
                    NewSession::new(sid(i), format!("user-{}", i % 100)).permissions(PERMS),
                )
                .await
                .unwrap();
        }
        Some(store)
    })?;
    Some(Fixture {
        rt,
        store: Arc::new(store),
        prefix,
    })
}

/// Runs `total` operations spread over `tasks` tasks; returns ops/s.
fn throughput<F, Fut>(rt: &tokio::runtime::Runtime, tasks: usize, total: usize, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (op, next) = (op.clone(), next.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= total {
                            break;
                        }
                        op(i).await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        total as f64 / started.elapsed().as_secs_f64()
    })
}

/// `redis-benchmark -q -n N -c C -P 1 <args>`; requests per second, or `None` if unavailable.
fn redis_benchmark(clients: usize, n: usize, args: &[&str]) -> Option<f64> {
    let (host, port) = host_port();
    let out = Command::new("redis-benchmark")
        .args(["-h", &host, "-p", &port, "-q", "-P", "1"])
        .args(["-c", &clients.to_string(), "-n", &n.to_string()])
        .args(args)
        .output()
        .map_err(|e| eprintln!("redis-benchmark unavailable: {e}"))
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .split(['\r', '\n'])
        .rfind(|l| l.contains("requests per second"))?;
    let before = line.split(" requests per second").next()?;
    before.rsplit(' ').next()?.parse().ok()
}

fn median3(mut f: impl FnMut() -> f64) -> f64 {
    let mut v = [f(), f(), f()];
    v.sort_by(f64::total_cmp);
    v[1]
}

fn report(what: &str, tasks: usize, ours: f64, raw: Option<f64>, raw_cmd: &str) {
    match raw {
        Some(raw) => println!(
            "redis/{what}/{tasks}_tasks: psm {ours:>9.0} ops/s | redis-benchmark {raw_cmd} -c {tasks}: {raw:>9.0} rps | ratio {:.2}x",
            ours / raw
        ),
        None => println!(
            "redis/{what}/{tasks}_tasks: psm {ours:>9.0} ops/s (redis-benchmark unavailable)"
        ),
    }
}

fn bench(c: &mut Criterion) {
    let Some(fx) = fixture() else { return };
    let store = fx.store.clone();
    let session_key = format!("{}s:{{{}}}", fx.prefix, sid(7));

    let mut group = c.benchmark_group("redis");
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(30);
    let mut i = 0usize;
    group.bench_function("check_permission/1_task", |b| {
        b.to_async(&fx.rt).iter(|| {
            i = i.wrapping_add(7919);
            let (store, id) = (store.clone(), sid(i % SESSIONS));
            async move { black_box(store.check_permission(&id, "admin:users").await.unwrap()) }
        })
    });
    group.bench_function("store_session/1_task", |b| {
        b.to_async(&fx.rt).iter(|| {
            i = i.wrapping_add(7919);
            let (store, id) = (store.clone(), sid(i % SESSIONS));
            async move {
                let new = NewSession::new(id, format!("user-{}", i % 100)).permissions(PERMS);
                black_box(store.store_session(new).await.unwrap());
            }
        })
    });
    group.finish();

    // throughput at 1 and 64 tasks, psm vs redis-benchmark on the raw command
    let hget = ["HGET", session_key.as_str(), "p"];
    let record = "1 read:posts write:posts list admin:* posts:*:read";
    let hset = [
        "HSET",
        &session_key,
        "u",
        "user-7",
        "p",
        record,
        "c",
        "1",
        "t",
        "1",
        "m",
        "{}",
    ];
    for (tasks, total) in [(1, OPS_ONE), (HIGH, OPS_HIGH)] {
        let s = store.clone();
        let ours = median3(|| {
            let s = s.clone();
            throughput(&fx.rt, tasks, total, move |i| {
                let s = s.clone();
                async move {
                    black_box(
                        s.check_permission(&sid(i % SESSIONS), "admin:users")
                            .await
                            .unwrap(),
                    );
                }
            })
        });
        let raw = redis_benchmark(tasks, total, &hget);
        report("check_permission", tasks, ours, raw, "HGET key p");

        let s = store.clone();
        let ours = median3(|| {
            let s = s.clone();
            throughput(&fx.rt, tasks, total, move |i| {
                let s = s.clone();
                async move {
                    let new = NewSession::new(sid(i % SESSIONS), format!("user-{}", i % 100))
                        .permissions(PERMS);
                    black_box(s.store_session(new).await.unwrap());
                }
            })
        });
        let raw = redis_benchmark(tasks, total, &hset);
        report("store_session", tasks, ours, raw, "HSET key (5 fields)");
    }

    // the measurement behind "check client-side": even the cheapest server-side Lua check
    // (EVALSHA doing HGET and a substring search, no grammar) against plain HGET, both raw
    lua_vs_plain(&fx, &session_key);
    fx.rt.block_on(cleanup(&fx));
}

fn lua_vs_plain(fx: &Fixture, session_key: &str) {
    let script = "local p = redis.call('HGET', KEYS[1], 'p') \
                  if p and string.find(p, ARGV[1], 1, true) then return 1 end return 0";
    let sha = fx.rt.block_on(async {
        let client = redis::Client::open(url()).ok()?;
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        redis::Script::new(script)
            .prepare_invoke()
            .load_async(&mut conn)
            .await
            .ok()
    });
    let Some(sha) = sha else { return };
    // the same two checks through one multiplexed connection (as psm sends them, pipelined)
    let conn = fx.rt.block_on(async {
        let client = redis::Client::open(url()).ok()?;
        client.get_multiplexed_async_connection().await.ok()
    });
    let Some(conn) = conn else { return };
    for tasks in [1, HIGH] {
        let n = if tasks == 1 { OPS_ONE } else { OPS_HIGH };
        let (c, key) = (conn.clone(), session_key.to_owned());
        let client_side = median3(|| {
            let (c, key) = (c.clone(), key.clone());
            throughput(&fx.rt, tasks, n, move |_| {
                let (mut c, key) = (c.clone(), key.clone());
                async move {
                    let p: Option<String> = redis::cmd("HGET")
                        .arg(&key)
                        .arg("p")
                        .query_async(&mut c)
                        .await
                        .unwrap();
                    let p = p.unwrap();
                    let grants = psm_core::PermissionSet::new(p.split(' ').skip(1)).unwrap();
                    black_box(grants.check("admin:users").unwrap());
                }
            })
        });
        let (c, key, sha) = (conn.clone(), session_key.to_owned(), sha.clone());
        let lua = median3(|| {
            let (c, key, sha) = (c.clone(), key.clone(), sha.clone());
            throughput(&fx.rt, tasks, n, move |_| {
                let (mut c, key, sha) = (c.clone(), key.clone(), sha.clone());
                async move {
                    let hit: i64 = redis::cmd("EVALSHA")
                        .arg(&sha)
                        .arg(1)
                        .arg(&key)
                        .arg("admin:")
                        .query_async(&mut c)
                        .await
                        .unwrap();
                    black_box(hit);
                }
            })
        });
        println!(
            "redis/check_strategy/{tasks}_tasks (one multiplexed connection): HGET + Rust grammar {client_side:.0} ops/s | minimal Lua EVALSHA {lua:.0} ops/s | Lua/client {:.2}x",
            lua / client_side
        );
    }
    for clients in [1, HIGH] {
        let n = if clients == 1 { OPS_ONE } else { OPS_HIGH };
        let plain = redis_benchmark(clients, n, &["HGET", session_key, "p"]);
        let lua = redis_benchmark(clients, n, &["EVALSHA", &sha, "1", session_key, "admin:"]);
        if let (Some(plain), Some(lua)) = (plain, lua) {
            println!(
                "redis/raw_check_cost/{clients}_clients: HGET {plain:.0} rps | minimal EVALSHA check {lua:.0} rps | EVALSHA/HGET {:.2}x",
                lua / plain
            );
        }
    }
}

async fn cleanup(fx: &Fixture) {
    for i in 0..SESSIONS {
        let _ = fx.store.invalidate_session(&sid(i)).await;
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
