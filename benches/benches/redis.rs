//! Redis backend against the local server: `check_permission` and `store_session` latency
//! (criterion, 1 task) and throughput at 1 and 64 tasks, side by side with `redis-benchmark`
//! sending the raw command each operation sends (`HGET key p` for a check; `EVALSHA` of psm's
//! store script with the same arguments for a store) with the same number of connections and the
//! same pipeline depth psm has in flight (64 tasks over C multiplexed connections = `-c C -P 64/C`),
//! over the same 1,000 keys (`-r`). Every psm answer is counted and asserted after its loop: even
//! sessions hold `admin:*`, odd ones do not, so half the checks are hits.
//!
//! The same rows run against the Redis Cluster at `PSM_TEST_REDIS_CLUSTER_URL` (default the
//! three nodes `cargo xtask services` starts) when it answers, beside `redis-benchmark --cluster`.
//! Also measures a minimal server-side Lua check (EVALSHA) against the client-side check, the
//! measurement behind psm-redis's choice.
//!
//! Needs a Redis at `PSM_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`) and `redis-benchmark`
//! on the PATH; skips with a message otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use psm_benches::session_set::{ADMIN, ASKED, SESSIONS, expected, grants, sid, spread};
use psm_benches::tasks::{self, median};
use psm_benches::{Tally, print_beside_python, table};
use psm_core::{NewSession, PermissionSet, SessionStore, StoreUrl, Timestamp};
use psm_redis::RedisStore;

const HIGH: usize = 64;
/// Operations per throughput run (as `redis-benchmark -n`).
const OPS_HIGH: usize = 200_000;
const OPS_ONE: usize = 20_000;

fn url() -> String {
    std::env::var("PSM_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn cluster_url() -> String {
    std::env::var("PSM_TEST_REDIS_CLUSTER_URL")
        .unwrap_or_else(|_| "redis+cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003".into())
}

/// `(host, port)` of the first server of a `redis://` or `redis+cluster://` URL.
fn host_port(url: &str) -> (String, String) {
    let rest = url.split("://").nth(1).unwrap_or("127.0.0.1:6379");
    let authority = rest
        .split(['/', '?', ','])
        .next()
        .unwrap_or("127.0.0.1:6379");
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

struct Fixture {
    rt: tokio::runtime::Runtime,
    ids: Arc<Vec<String>>,
    prefix: String,
    url: String,
    cluster: bool,
}

impl Fixture {
    fn open(&self, connections: usize) -> Option<Arc<RedisStore>> {
        let store_url = format!(
            "{}?key_prefix={}&default_ttl=10m&connections={connections}",
            self.url, self.prefix
        );
        self.rt
            .block_on(RedisStore::from_url(StoreUrl::parse(&store_url).ok()?))
            .map_err(|e| eprintln!("redis bench on {} SKIPPED: {e}", self.url))
            .ok()
            .map(Arc::new)
    }

    fn fill(&self, store: &RedisStore) {
        self.rt.block_on(async {
            for (k, id) in self.ids.iter().enumerate() {
                store
                    .store_session(
                        NewSession::new(id.clone(), format!("user-{}", k % 100))
                            .permissions(grants(k)),
                    )
                    .await
                    .unwrap();
            }
        })
    }
}

fn fixture(url: String, cluster: bool) -> Option<(Fixture, Arc<RedisStore>)> {
    let fx = Fixture {
        rt: runtime(),
        ids: Arc::new((0..SESSIONS).map(sid).collect()),
        prefix: format!("psmbench:{}:", std::process::id()),
        url,
        cluster,
    };
    let store = fx.open(psm_redis::DEFAULT_CONNECTIONS)?;
    fx.fill(&store);
    Some((fx, store))
}

/// `redis-benchmark -q -n N -c C -P P -r SESSIONS <args>`: requests per second, or `None`.
fn redis_benchmark(
    fx: &Fixture,
    clients: usize,
    pipeline: usize,
    n: usize,
    args: &[&str],
) -> Option<f64> {
    let (host, port) = host_port(&fx.url);
    let mut cmd = Command::new("redis-benchmark");
    cmd.args(["-h", &host, "-p", &port, "-q"])
        .args(["-c", &clients.to_string(), "-P", &pipeline.to_string()])
        .args(["-n", &n.to_string(), "-r", &SESSIONS.to_string()]);
    if fx.cluster {
        cmd.arg("--cluster");
    }
    let out = cmd
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

fn check_run(fx: &Fixture, store: &Arc<RedisStore>, tasks: usize, n: usize) -> tasks::Run {
    let (s, ids) = (store.clone(), fx.ids.clone());
    let run = tasks::by_count(&fx.rt, tasks, n, move |i| {
        let (s, ids) = (s.clone(), ids.clone());
        async move {
            let k = spread(i);
            let got = s.check_permission(&ids[k], ASKED).await.unwrap();
            (got, expected(k))
        }
    });
    run.tally.assert_right("redis check_permission", true);
    assert_eq!(run.tally.calls(), n as u64);
    run
}

fn store_run(fx: &Fixture, store: &Arc<RedisStore>, tasks: usize, n: usize) -> tasks::Run {
    let (s, ids) = (store.clone(), fx.ids.clone());
    let run = tasks::by_count(&fx.rt, tasks, n, move |i| {
        let (s, ids) = (s.clone(), ids.clone());
        async move {
            let k = spread(i);
            let new =
                NewSession::new(ids[k].clone(), format!("user-{}", k % 100)).permissions(grants(k));
            let stored = s.store_session(new).await.unwrap();
            (
                stored.permissions.len() == 5 && stored.session_id == ids[k],
                true,
            )
        }
    });
    run.tally.assert_right("redis store_session", false);
    assert_eq!(run.tally.calls(), n as u64);
    run
}

/// The raw `EVALSHA` of psm's store script, as `store_session` sends it, on the peer's own keys
/// (same count, one user) so the peer never disturbs the sessions psm checks.
fn raw_store_args(fx: &Fixture) -> Vec<String> {
    let peer = format!("{}peer:", fx.prefix);
    let now = Timestamp::now().as_millis();
    let expiry = now + 600_000;
    let grants = PermissionSet::new(ADMIN).unwrap();
    let p = std::iter::once(expiry.to_string())
        .chain(grants.iter().map(str::to_owned))
        .collect::<Vec<_>>()
        .join(" ");
    vec![
        "EVALSHA".into(),
        RedisStore::store_script_sha1().into(),
        "2".into(),
        format!("{peer}s:{{bench-__rand_int__}}"),
        format!("{peer}u:{{user-0}}"),
        peer,
        "bench-__rand_int__".into(),
        "user-0".into(),
        p,
        now.to_string(),
        "{}".into(),
        expiry.to_string(),
        (expiry - 1).to_string(),
        "1".into(),
    ]
}

fn latency(c: &mut Criterion, fx: &Fixture, store: &Arc<RedisStore>) {
    let name = if fx.cluster { "redis_cluster" } else { "redis" };
    let mut group = c.benchmark_group(name);
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(20);
    let tally = Arc::new(Mutex::new(Tally::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    group.bench_function("check_permission/1_task", |b| {
        b.to_async(&fx.rt).iter_custom(|iters| {
            let (s, ids, tally, next) =
                (store.clone(), fx.ids.clone(), tally.clone(), next.clone());
            async move {
                let mut mine = Tally::new();
                let started = Instant::now();
                for _ in 0..iters {
                    let k = spread(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
                    let got = s.check_permission(&ids[k], ASKED).await.unwrap();
                    black_box(mine.record(got, expected(k)));
                }
                let took = started.elapsed();
                tally.lock().unwrap().merge(mine);
                took
            }
        })
    });
    tally
        .lock()
        .unwrap()
        .assert_right("redis check_permission/1_task", true);
    group.finish();
}

fn bench(c: &mut Criterion) {
    for (url, cluster) in [(url(), false), (cluster_url(), true)] {
        let Some((fx, store)) = fixture(url, cluster) else {
            continue;
        };
        latency(c, &fx, &store);
        throughput_rows(&fx, &store);
        if !cluster {
            lua_vs_plain(&fx, &store);
        }
        fx.rt.block_on(cleanup(&fx, &store));
    }
}

/// psm at 1 task (one request in flight: `-c 1 -P 1`) and at 64 tasks over C connections
/// (`-c C -P 64/C`), paired with redis-benchmark three times; the ratio is the median of the
/// three pair ratios, so load from elsewhere hits both sides alike.
fn throughput_rows(fx: &Fixture, default: &Arc<RedisStore>) {
    let label = if fx.cluster { "redis_cluster" } else { "redis" };
    let peer = format!("{}s:{{bench-__rand_int__}}", fx.prefix);
    let hget = ["HGET", peer.as_str(), "p"];
    let store_args = raw_store_args(fx);
    let store_args: Vec<&str> = store_args.iter().map(String::as_str).collect();
    let shapes = [
        (1, psm_redis::DEFAULT_CONNECTIONS, OPS_ONE),
        (HIGH, psm_redis::DEFAULT_CONNECTIONS, OPS_HIGH),
        (HIGH, 8, OPS_HIGH),
    ];
    for (tasks, connections, n) in shapes {
        let n = if table::quick() { n / 10 } else { n };
        let store = if connections == psm_redis::DEFAULT_CONNECTIONS {
            Some(default.clone())
        } else {
            fx.open(connections)
        };
        let Some(store) = store else { continue };
        let (clients, pipeline) = if tasks == 1 {
            (1, 1)
        } else {
            (connections, tasks / connections)
        };
        let shape = format!("{tasks}_tasks/{connections}_connections");
        let peer_cmd = format!("-c {clients} -P {pipeline}");
        for (what, raw_cmd) in [
            ("check_permission", "HGET key p"),
            ("store_session", "EVALSHA store"),
        ] {
            let (mut ours, mut raws, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..if table::quick() { 1 } else { 3 } {
                let run = if what == "check_permission" {
                    check_run(fx, &store, tasks, n)
                } else {
                    store_run(fx, &store, tasks, n)
                };
                ours.push(run.rate);
                // on a cluster the store is two scripts on two slots: no one raw command to send
                let args: &[&str] = if what == "check_permission" {
                    &hget
                } else {
                    &store_args
                };
                let raw = (what == "check_permission" || !fx.cluster)
                    .then(|| redis_benchmark(fx, clients, pipeline, n, args))
                    .flatten();
                if let Some(raw) = raw {
                    raws.push(raw);
                    ratios.push(run.rate / raw);
                }
            }
            let ours = median(&mut ours);
            if what == "check_permission" && !fx.cluster {
                let peer = format!("redis-benchmark {peer_cmd} HGET");
                let raw = if raws.is_empty() {
                    Err("redis-benchmark gave no figure (not installed or failed)".to_owned())
                } else {
                    Ok(median(&mut raws.clone()))
                };
                table::record(
                    &format!("Redis check, {tasks} task(s), {connections} connection(s)"),
                    ours,
                    &peer,
                    raw,
                );
            }
            if ratios.is_empty() {
                println!(
                    "{label}/{what}/{shape}: psm {ours:>9.0} ops/s (no raw peer; answers asserted)"
                );
            } else {
                println!(
                    "{label}/{what}/{shape}: psm {ours:>9.0} ops/s | redis-benchmark {peer_cmd} {raw_cmd}: {:>9.0} rps | ratio {:.2}x (median of 3 pairs; answers asserted)",
                    median(&mut raws),
                    median(&mut ratios)
                );
            }
            if !fx.cluster {
                let python = if what == "check_permission" {
                    format!("redis/check_permission/{tasks}_tasks")
                } else {
                    "redis/store_permissions/1_task".to_owned()
                };
                if what == "check_permission" || tasks == 1 {
                    print_beside_python(&format!("{label}/{what}/{shape}"), ours, &python);
                }
            }
        }
        if connections != psm_redis::DEFAULT_CONNECTIONS {
            fx.rt.block_on(store.close()).unwrap();
        }
    }
}

fn lua_vs_plain(fx: &Fixture, store: &Arc<RedisStore>) {
    let script = "local p = redis.call('HGET', KEYS[1], 'p') \
                  if p and string.find(p, ARGV[1], 1, true) then return 1 end return 0";
    let conn = fx.rt.block_on(async {
        let client = redis::Client::open(fx.url.as_str()).ok()?;
        client.get_multiplexed_async_connection().await.ok()
    });
    let Some(conn) = conn else { return };
    let sha = fx.rt.block_on(async {
        redis::Script::new(script)
            .prepare_invoke()
            .load_async(&mut conn.clone())
            .await
            .ok()
    });
    let Some(sha) = sha else { return };
    let keys: Arc<Vec<String>> = Arc::new(
        fx.ids
            .iter()
            .map(|id| format!("{}s:{{{id}}}", fx.prefix))
            .collect(),
    );
    // the same two checks through one multiplexed connection (as psm sends them, pipelined)
    for tasks in [1, HIGH] {
        let n = if tasks == 1 { OPS_ONE } else { OPS_HIGH };
        let (c, k) = (conn.clone(), keys.clone());
        let client_side = tasks::by_count(&fx.rt, tasks, n, move |i| {
            let (mut c, keys) = (c.clone(), k.clone());
            async move {
                let k = spread(i);
                let p: String = redis::cmd("HGET")
                    .arg(&keys[k])
                    .arg("p")
                    .query_async(&mut c)
                    .await
                    .unwrap();
                let grants = PermissionSet::new(p.split(' ').skip(1)).unwrap();
                (grants.check(ASKED).unwrap(), expected(k))
            }
        });
        client_side.tally.assert_right("HGET + Rust grammar", true);
        let (c, k, sha) = (conn.clone(), keys.clone(), sha.clone());
        let lua = tasks::by_count(&fx.rt, tasks, n, move |i| {
            let (mut c, keys, sha) = (c.clone(), k.clone(), sha.clone());
            async move {
                let k = spread(i);
                let hit: i64 = redis::cmd("EVALSHA")
                    .arg(&sha)
                    .arg(1)
                    .arg(&keys[k])
                    .arg("admin:")
                    .query_async(&mut c)
                    .await
                    .unwrap();
                (hit == 1, expected(k))
            }
        });
        lua.tally.assert_right("minimal Lua check", true);
        println!(
            "redis/check_strategy/{tasks}_tasks (one multiplexed connection): HGET + Rust grammar {:.0} ops/s | minimal Lua EVALSHA {:.0} ops/s | Lua/client {:.2}x",
            client_side.rate,
            lua.rate,
            lua.rate / client_side.rate
        );
    }
    let key = format!("{}s:{{bench-__rand_int__}}", fx.prefix);
    for (clients, pipeline) in [(1, 1), (2, HIGH / 2)] {
        let n = if clients == 1 { OPS_ONE } else { OPS_HIGH };
        let plain = redis_benchmark(fx, clients, pipeline, n, &["HGET", &key, "p"]);
        let lua = redis_benchmark(
            fx,
            clients,
            pipeline,
            n,
            &["EVALSHA", &sha, "1", &key, "admin:"],
        );
        if let (Some(plain), Some(lua)) = (plain, lua) {
            println!(
                "redis/raw_check_cost/-c {clients} -P {pipeline}: HGET {plain:.0} rps | minimal EVALSHA check {lua:.0} rps | EVALSHA/HGET {:.2}x",
                lua / plain
            );
        }
    }
    black_box(store);
}

async fn cleanup(fx: &Fixture, store: &RedisStore) {
    for id in fx.ids.iter() {
        let _ = store.invalidate_session(id).await;
    }
    // the peer's keys: its sessions and its one index
    if let Ok(client) = redis::Client::open(fx.url.as_str())
        && let Ok(mut conn) = client.get_multiplexed_async_connection().await
    {
        let peer = format!("{}peer:", fx.prefix);
        let mut keys: Vec<String> = fx
            .ids
            .iter()
            .map(|id| format!("{peer}s:{{{id}}}"))
            .collect();
        keys.push(format!("{peer}u:{{user-0}}"));
        for key in keys {
            let _: Result<i64, _> = redis::cmd("DEL").arg(key).query_async(&mut conn).await;
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
