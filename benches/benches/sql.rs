//! SQL backend on PostgreSQL and MariaDB: `check_permission` latency (criterion, 1 task) and
//! check throughput at 1 and 16 concurrent tasks (a timed loop, paired three times with its
//! peer), side by side with the database's own load tool at the same client count and the same
//! number of connections (psm's read lanes = clients):
//!
//! - PostgreSQL: `pgbench -S -M prepared` (select-only on pgbench's own table) and `pgbench -f`
//!   with psm's very check statement (`-M prepared`, random keys over the same 1,000 sessions);
//! - MariaDB: `mariadb-slap` sending psm's check statement for each of the 1,000 sessions in turn
//!   (mariadb-slap has no prepared statements: it sends text queries, which the server parses
//!   each time, while psm's statement is prepared once per connection).
//!
//! Every psm answer is counted and asserted after its loop (even sessions hold `admin:*`, odd
//! ones do not: half the checks are hits). Also store throughput, and the check with other read
//! lane counts and through sqlx's pool with and without the acquire ping (the measurement behind
//! psm-sql's dedicated read connections, 8 by default).
//!
//! Needs a PostgreSQL at `PSM_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`,
//! with `pgbench` on the PATH; the database `pgbench` is initialised with `pgbench -i -s 1` when
//! missing) and a MariaDB at `PSM_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`,
//! with `mariadb-slap`); each part skips with a message when its server is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use psm_benches::Tally;
use psm_benches::session_set::{ASKED, SESSIONS, expected, grants, sid, spread};
use psm_benches::table;
use psm_benches::tasks::{self, median};
use psm_core::{NewSession, SessionStore};
use psm_sql::SqlStore;

const HIGH: usize = 16;
/// Length of one throughput run (as `pgbench -T`); 1 s in quick mode.
fn run_len() -> Duration {
    Duration::from_secs(if table::quick() { 1 } else { 3 })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    Postgres,
    MariaDb,
}

impl Db {
    fn label(self) -> &'static str {
        match self {
            Db::Postgres => "postgres",
            Db::MariaDb => "mariadb",
        }
    }

    fn url(self) -> String {
        let (var, default) = match self {
            Db::Postgres => (
                "PSM_TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
            Db::MariaDb => ("PSM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
        };
        std::env::var(var).unwrap_or_else(|_| default.into())
    }
}

/// `(host, port, user, database)` of a URL, for the command-line tools.
fn target(url: &str) -> (String, String, String, String) {
    let rest = url.split("://").nth(1).unwrap_or("");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let database = path.split('?').next().unwrap_or("").to_owned();
    let (user, hosts) = authority.rsplit_once('@').unwrap_or(("root", authority));
    let user = user.split(':').next().unwrap_or("root");
    let (host, port) = hosts.split_once(':').unwrap_or((hosts, ""));
    (host.to_owned(), port.to_owned(), user.to_owned(), database)
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
    db: Db,
    prefix: String,
    ids: Arc<Vec<String>>,
}

impl Fixture {
    fn open(&self, options: &str) -> Option<Arc<SqlStore>> {
        let store_url = format!(
            "{}?table_prefix={}&default_ttl=10m{options}",
            self.db.url(),
            self.prefix
        );
        self.rt
            .block_on(SqlStore::connect(&store_url))
            .map_err(|e| eprintln!("sql bench on {} SKIPPED: {e}", self.db.label()))
            .ok()
            .map(Arc::new)
    }
}

fn check_run(fx: &Fixture, store: &Arc<SqlStore>, tasks: usize) -> tasks::Run {
    check_for(fx, store, tasks, run_len())
}

/// psm's check at `tasks` for `len`, answers asserted.
fn check_for(fx: &Fixture, store: &Arc<SqlStore>, tasks: usize, len: Duration) -> tasks::Run {
    let (s, ids) = (store.clone(), fx.ids.clone());
    let run = tasks::for_duration(&fx.rt, tasks, len, move |i| {
        let (s, ids) = (s.clone(), ids.clone());
        async move {
            let k = spread(i);
            let got = s.check_permission(&ids[k], ASKED).await.unwrap();
            (got, expected(k))
        }
    });
    run.tally
        .assert_right(&format!("{} check_permission", fx.db.label()), true);
    run
}

fn store_run(fx: &Fixture, store: &Arc<SqlStore>, tasks: usize) -> tasks::Run {
    let (s, ids) = (store.clone(), fx.ids.clone());
    let run = tasks::for_duration(&fx.rt, tasks, run_len(), move |i| {
        let (s, ids) = (s.clone(), ids.clone());
        async move {
            let k = spread(i);
            let new =
                NewSession::new(ids[k].clone(), format!("user-{}", k % 100)).permissions(grants(k));
            let stored = s.store_session(new).await.unwrap();
            (
                stored.session_id == ids[k] && stored.permissions.len() == 5,
                true,
            )
        }
    });
    run.tally
        .assert_right(&format!("{} store_session", fx.db.label()), false);
    run
}

fn pgbench(args: &[&str]) -> Option<std::process::Output> {
    let (host, port, user, _) = target(&Db::Postgres.url());
    let port = if port.is_empty() { "5432".into() } else { port };
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
    let (host, port, user, _) = target(&Db::Postgres.url());
    let port = if port.is_empty() { "5432".into() } else { port };
    let _ = Command::new("createdb")
        .args(["-h", &host, "-p", &port, "-U", &user, "pgbench"])
        .output();
    pgbench(&["-i", "-s", "1", "-q", "pgbench"]).is_some_and(|o| o.status.success())
}

/// `pgbench -n -M prepared -c N -j N -T secs ARGS`: transactions per second.
fn pgbench_tps(clients: usize, args: &[&str]) -> Option<f64> {
    let c = clients.to_string();
    let secs = run_len().as_secs().to_string();
    let mut all = vec!["-n", "-M", "prepared", "-c", &c, "-j", &c, "-T", &secs];
    all.extend_from_slice(args);
    let out = pgbench(&all)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let failed = text
        .lines()
        .find(|l| l.starts_with("number of failed transactions"))
        .is_some_and(|l| !l.contains(": 0 "));
    if !out.status.success() || failed {
        eprintln!("pgbench failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let line = text.lines().find(|l| l.starts_with("tps = "))?;
    line.trim_start_matches("tps = ")
        .split(' ')
        .next()?
        .parse()
        .ok()
}

/// psm's check statement as a pgbench script (random keys over the same sessions).
fn pgbench_script(fx: &Fixture, store: &SqlStore) -> Option<tempfile::NamedTempFile> {
    let script = format!(
        "\\set k random(0, {})\n\
         SELECT permissions FROM \"{}\" WHERE session_id = 'bench-' || lpad(:k::text, 12, '0') \
         AND (expires_at IS NULL OR expires_at > 0);\n",
        SESSIONS - 1,
        store.sessions_table()
    );
    let file = tempfile::NamedTempFile::new().ok()?;
    std::fs::write(file.path(), script).ok()?;
    black_box(fx);
    Some(file)
}

/// `mariadb-slap` sending psm's check statement for every session in turn, `clients` at once,
/// about `per_client` queries each: queries per second.
fn mariadb_slap(fx: &Fixture, store: &SqlStore, clients: usize, per_client: usize) -> Option<f64> {
    let (host, port, user, database) = target(&Db::MariaDb.url());
    let port = if port.is_empty() { "3306".into() } else { port };
    let table = store.sessions_table();
    let queries: Vec<String> = fx
        .ids
        .iter()
        .map(|id| {
            format!(
                "SELECT permissions FROM `{table}` WHERE session_id = '{id}' \
                 AND (expires_at IS NULL OR expires_at > 0)"
            )
        })
        .collect();
    // the statements go in a file: as one argument they exceed the kernel's limit on a single
    // argument (128 KiB: "Argument list too long"), which made the peer "unavailable"
    let file = tempfile::NamedTempFile::new()
        .map_err(|e| eprintln!("mariadb-slap query file: {e}"))
        .ok()?;
    std::fs::write(file.path(), queries.join(";"))
        .map_err(|e| eprintln!("mariadb-slap query file: {e}"))
        .ok()?;
    let out = Command::new("mariadb-slap")
        .args(["-h", &host, "-P", &port, "-u", &user])
        .arg(format!("--create-schema={database}"))
        .arg(format!("--concurrency={clients}"))
        .arg(format!("--number-of-queries={}", per_client * clients))
        // no `--silent`: it suppresses the report this reads (the peer printed "unavailable");
        // `--no-drop` keeps the shared schema whatever the tool's defaults
        .args(["--delimiter=;", "--no-drop"])
        .arg(format!("--query={}", file.path().display()))
        .output()
        .map_err(|e| eprintln!("mariadb-slap unavailable: {e}"))
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(line) = text
        .lines()
        .find(|l| l.contains("Average number of seconds to run all queries"))
    else {
        eprintln!(
            "mariadb-slap gave no timing ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    };
    let secs: f64 = line
        .split(':')
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    (secs > 0.0).then(|| (per_client * clients) as f64 / secs)
}

fn fill(fx: &Fixture, store: &SqlStore) {
    fx.rt.block_on(async {
        for (k, id) in fx.ids.iter().enumerate() {
            store
                .store_session(
                    NewSession::new(id.clone(), format!("user-{}", k % 100)).permissions(grants(k)),
                )
                .await
                .unwrap();
        }
    });
}

fn latency(c: &mut Criterion, fx: &Fixture, store: &Arc<SqlStore>) {
    let mut group = c.benchmark_group(format!("sql_{}", fx.db.label()));
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(20);
    let tally = Arc::new(Mutex::new(Tally::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    group.bench_function("check_permission/1_task", |b| {
        b.to_async(&fx.rt).iter_custom(|iters| {
            let (s, ids, tally, next) =
                (store.clone(), fx.ids.clone(), tally.clone(), next.clone());
            // the loop runs on a worker, as the throughput runs and an application's handlers
            // do: awaited from criterion's `block_on` thread, every reply would cost a second
            // wake-up (the I/O driver's worker waking that thread), which pgbench's client,
            // waiting on its own socket, does not pay
            let timed = tokio::spawn(async move {
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
            });
            async move { timed.await.unwrap() }
        })
    });
    tally.lock().unwrap().assert_right(
        &format!("sql_{} check_permission/1_task", fx.db.label()),
        true,
    );
    group.finish();
}

/// One peer: its label and how to run it at `clients`.
type Peer<'a> = (String, Box<dyn Fn(usize) -> Option<f64> + 'a>);

fn peers<'a>(
    fx: &'a Fixture,
    store: &'a SqlStore,
    script: Option<&'a tempfile::NamedTempFile>,
) -> Vec<Peer<'a>> {
    match fx.db {
        Db::Postgres => {
            let mut list: Vec<Peer<'a>> = Vec::new();
            if pgbench_ready() {
                list.push((
                    "pgbench -S -M prepared".into(),
                    Box::new(|c| pgbench_tps(c, &["-S", "pgbench"])),
                ));
            } else {
                eprintln!("pgbench database unavailable: no pgbench -S peer");
            }
            if let Some(script) = script {
                let path = script.path().to_string_lossy().into_owned();
                let (_, _, _, database) = target(&Db::Postgres.url());
                list.push((
                    "pgbench -f <psm's check statement> -M prepared".into(),
                    Box::new(move |c| pgbench_tps(c, &["-f", &path, &database])),
                ));
            }
            list
        }
        Db::MariaDb => vec![(
            "mariadb-slap (psm's check statement, text protocol)".into(),
            Box::new(move |c| mariadb_slap(fx, store, c, if c == 1 { 10_000 } else { 5_000 })),
        )],
    }
}

fn throughput_rows(fx: &Fixture, default: &Arc<SqlStore>) {
    let label = fx.db.label();
    let script = (fx.db == Db::Postgres)
        .then(|| pgbench_script(fx, default))
        .flatten();
    for tasks in [1, HIGH] {
        // as many read lanes (connections) as the peer has clients
        let store = if tasks <= 8 {
            Some(default.clone())
        } else {
            fx.open(&format!("&check_connections={tasks}"))
        };
        let Some(store) = store else { continue };
        let peers = peers(fx, &store, script.as_ref());
        let mut ours = Vec::new();
        let mut raws: Vec<Vec<f64>> = vec![Vec::new(); peers.len()];
        let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); peers.len()];
        // paired runs (psm, then each peer, three times) so that load from elsewhere on the
        // machine hits both sides alike; each ratio is the median of the three pair ratios
        for _ in 0..if table::quick() { 1 } else { 3 } {
            let checks = check_run(fx, &store, tasks).rate;
            ours.push(checks);
            for (p, (_, run)) in peers.iter().enumerate() {
                if let Some(raw) = run(tasks) {
                    raws[p].push(raw);
                    ratios[p].push(checks / raw);
                }
            }
        }
        let checks = median(&mut ours);
        let lanes = tasks.max(8);
        println!(
            "sql/{label}/check_permission/{tasks}_tasks ({lanes} read lanes): psm {checks:>8.0} checks/s (answers asserted)"
        );
        let row = format!("{} check, {tasks} task(s)", fx.db.label());
        if peers.is_empty() {
            let why =
                "no peer tool ready (pgbench / mariadb-slap missing or its database not ready)";
            table::record(&row, checks, "peer", Err(why.to_owned()));
        }
        for (p, (name, _)) in peers.iter().enumerate() {
            let raw = if raws[p].is_empty() {
                Err(format!("{name} gave no figure"))
            } else {
                Ok(median(&mut raws[p].clone()))
            };
            table::record(&row, checks, &format!("{name} -c {tasks}"), raw);
            if ratios[p].is_empty() {
                println!("    {name} -c {tasks}: unavailable");
            } else {
                println!(
                    "    {name} -c {tasks}: {:>8.0} /s | psm ratio {:.2}x (median of 3 paired runs)",
                    median(&mut raws[p]),
                    median(&mut ratios[p])
                );
            }
        }
        let stores = median(&mut [0, 1, 2].map(|_| store_run(fx, &store, tasks).rate));
        println!(
            "sql/{label}/store_session/{tasks}_tasks: psm {stores:>8.0} stores/s (answers asserted)"
        );
        if tasks > 8 {
            fx.rt.block_on(store.close()).unwrap();
        }
    }
}

/// The same check with other read-lane counts, and through sqlx's pool instead of lanes.
fn lane_variants(fx: &Fixture) {
    for (label, options) in [
        ("4 read lanes", "&check_connections=4"),
        (
            "pool, no acquire ping",
            "&check_connections=0&max_connections=16",
        ),
        (
            "pool, acquire ping (sqlx default)",
            "&check_connections=0&max_connections=16&test_before_acquire=true",
        ),
    ] {
        let Some(other) = fx.open(options) else {
            continue;
        };
        for tasks in [1, HIGH] {
            let rate = median(&mut [0, 1, 2].map(|_| check_run(fx, &other, tasks).rate));
            println!(
                "sql/{}/check_permission/{tasks}_tasks via {label}: {rate:>8.0} checks/s",
                fx.db.label()
            );
        }
        fx.rt.block_on(other.close()).unwrap();
    }
}

fn drop_tables(fx: &Fixture, store: &SqlStore) {
    fx.rt.block_on(async {
        for t in ["sessions", "migrations"] {
            let table = format!("{}{t}", fx.prefix);
            match store.pool() {
                psm_sql::SqlPool::Postgres(pool) => {
                    let sql = format!("DROP TABLE IF EXISTS \"{table}\"");
                    let _ = psm_sql::sqlx::raw_sql(&sql).execute(pool).await;
                }
                psm_sql::SqlPool::MySql(pool) => {
                    let sql = format!("DROP TABLE IF EXISTS `{table}`");
                    let _ = psm_sql::sqlx::raw_sql(&sql).execute(pool).await;
                }
                _ => {}
            }
        }
        store.close().await.unwrap();
    });
}

/// `PSM_BENCH_SQL_PROBE=TASKS:SECONDS`: only psm's check, at `TASKS` for `SECONDS` (three runs
/// a database, answers asserted), for profiling (`perf`, `strace -c`) without criterion or peers.
const PROBE: &str = "PSM_BENCH_SQL_PROBE";
/// `PSM_BENCH_SQL_DBS=postgres,mariadb`: the databases to bench (default both).
const DBS: &str = "PSM_BENCH_SQL_DBS";

fn probe_spec() -> Option<(usize, Duration)> {
    let spec = std::env::var(PROBE).ok()?;
    let (tasks, secs) = spec.split_once(':')?;
    Some((tasks.parse().ok()?, Duration::from_secs(secs.parse().ok()?)))
}

fn probe(fx: &Fixture, default: &Arc<SqlStore>, tasks: usize, len: Duration) {
    let store = if tasks <= 8 {
        Some(default.clone())
    } else {
        fx.open(&format!("&check_connections={tasks}"))
    };
    let Some(store) = store else { return };
    for _ in 0..3 {
        let run = check_for(fx, &store, tasks, len);
        println!(
            "probe sql/{}/check_permission/{tasks}_tasks: {:.0} checks/s",
            fx.db.label(),
            run.rate
        );
    }
    if tasks > 8 {
        fx.rt.block_on(store.close()).unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let dbs = std::env::var(DBS).unwrap_or_else(|_| "postgres,mariadb".into());
    for db in [Db::Postgres, Db::MariaDb] {
        if !dbs.split(',').any(|d| d.trim() == db.label()) {
            continue;
        }
        let fx = Fixture {
            rt: runtime(),
            db,
            prefix: format!("psmbench{}_", std::process::id()),
            ids: Arc::new((0..SESSIONS).map(sid).collect()),
        };
        let Some(store) = fx.open("") else { continue };
        fill(&fx, &store);
        if let Some((tasks, len)) = probe_spec() {
            probe(&fx, &store, tasks, len);
            drop_tables(&fx, &store);
            continue;
        }
        latency(c, &fx, &store);
        throughput_rows(&fx, &store);
        if db == Db::Postgres {
            lane_variants(&fx);
        }
        drop_tables(&fx, &store);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
