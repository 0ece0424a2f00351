//! `cargo xtask services`: makes sure Redis, a 3-master Redis Cluster, PostgreSQL and MariaDB
//! answer on loopback (installing and starting them if needed), and the URLs tests reach them by.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::{self, Result, line};

/// How long any one service may take to come up.
const WAIT: Duration = Duration::from_secs(30);
/// The bound on a start-up command itself (pg_ctlcluster waits for the server before it returns).
const START_LIMIT: Duration = Duration::from_secs(90);

const REDIS_PORT: &str = "6379";
const CLUSTER_PORTS: [&str; 3] = ["7001", "7002", "7003"];
const CLUSTER_DIR: &str = "/tmp/psm-redis-cluster";

/// Environment the tests (and benches) read, with the value used when it is not already set.
const TEST_ENV: [(&str, &str); 5] = [
    ("PSM_TEST_REDIS_URL", "redis://127.0.0.1:6379"),
    (
        "PSM_TEST_REDIS_CLUSTER_URL",
        "redis+cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
    ),
    (
        "PSM_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    ),
    ("PSM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
    ("PSM_REQUIRE_SERVICES", "1"),
];

/// The programs used below; if any is missing, the Debian packages that provide them are installed.
const PROGRAMS: [&str; 10] = [
    "redis-server",
    "redis-cli",
    "pg_ctlcluster",
    "pg_isready",
    "psql",
    "createdb",
    "createuser",
    "/usr/sbin/mariadbd",
    "mariadb-admin",
    "mariadb",
];
const PACKAGES: [&str; 6] = [
    "redis-server",
    "redis-tools",
    "postgresql",
    "postgresql-client",
    "mariadb-server",
    "mariadb-client",
];

/// Brings every service up (doing nothing for those that already answer) and prints a line each.
pub fn ensure() -> Result {
    install_missing()?;
    redis()?;
    redis_cluster()?;
    postgres()?;
    mariadb()
}

/// The test environment: variables already set are kept (and left out), the others get defaults.
/// Each pair is printed so that a run shows what it tested against.
pub fn test_env() -> Vec<(&'static str, String)> {
    let mut missing = Vec::new();
    for (name, default) in TEST_ENV {
        match std::env::var(name) {
            Ok(value) => println!("{name}={value} (from the environment)"),
            Err(_) => {
                println!("{name}={default}");
                missing.push((name, default.to_owned()));
            }
        }
    }
    missing
}

fn report(service: &str, address: &str, state: &str) {
    println!("{service:<14} {address:<42} {state}");
}

fn install_missing() -> Result {
    let missing: Vec<&str> = PROGRAMS
        .into_iter()
        .filter(|program| !cmd::installed(program))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!(
        "not installed: {}; installing from Debian",
        missing.join(", ")
    );
    cmd::run(&mut line("apt-get update"))?;
    cmd::run(
        line("apt-get install -y")
            .args(PACKAGES)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

// ---- Redis -------------------------------------------------------------------------------------

fn redis_cli(port: &str) -> std::process::Command {
    let mut cli = line("redis-cli -h 127.0.0.1 -p");
    cli.arg(port);
    cli
}

fn redis_answers(port: &str) -> bool {
    cmd::capture(redis_cli(port).arg("ping")).is_ok_and(|out| out.trim() == "PONG")
}

fn redis() -> Result {
    let address = format!("127.0.0.1:{REDIS_PORT}");
    if redis_answers(REDIS_PORT) {
        report("redis", &address, "ok");
        return Ok(());
    }
    for dir in ["/var/lib/redis", "/var/log/redis"] {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {dir}: {e}"))?;
    }
    cmd::run_bounded(
        line("redis-server --daemonize yes --bind 127.0.0.1 -::1 --appendonly no --dir /var/lib/redis")
            .args(["--logfile", "/var/log/redis/ci.log", "--save", "", "--port", REDIS_PORT]),
        START_LIMIT,
    )?;
    cmd::wait_until(&format!("redis on {address}"), WAIT, || {
        redis_answers(REDIS_PORT)
    })?;
    report("redis", &address, "ok (started)");
    Ok(())
}

/// Every node answers and sees a healthy cluster of three masters.
fn cluster_healthy() -> bool {
    CLUSTER_PORTS.iter().all(|port| {
        cmd::capture(redis_cli(port).args(["cluster", "info"])).is_ok_and(|info| {
            let wanted = [
                "cluster_state:ok",
                "cluster_known_nodes:3",
                "cluster_size:3",
            ];
            let found = info
                .lines()
                .filter(|line| wanted.contains(&line.trim()))
                .count();
            found == wanted.len()
        })
    })
}

fn redis_cluster() -> Result {
    let address = "127.0.0.1:7001,7002,7003";
    if cluster_healthy() {
        report("redis-cluster", address, "ok");
        return Ok(());
    }
    for port in CLUSTER_PORTS {
        if !redis_answers(port) {
            start_cluster_node(port)?;
        }
    }
    cmd::wait_until("redis cluster nodes on 127.0.0.1:7001-7003", WAIT, || {
        CLUSTER_PORTS.iter().all(|port| redis_answers(port))
    })?;
    // Whatever state the nodes were in (fresh, half-joined, or a broken cluster), start over:
    // empty every node and forget the old cluster, then create it anew. Only tests use it.
    for port in CLUSTER_PORTS {
        cmd::run_bounded(redis_cli(port).arg("flushall"), START_LIMIT)?;
        cmd::run_bounded(
            redis_cli(port).args(["cluster", "reset", "hard"]),
            START_LIMIT,
        )?;
    }
    cmd::run_bounded(
        line("redis-cli --cluster create")
            .args(CLUSTER_PORTS.map(|port| format!("127.0.0.1:{port}")))
            .args(["--cluster-replicas", "0", "--cluster-yes"]),
        START_LIMIT,
    )?;
    cmd::wait_until(
        "redis cluster (cluster_state:ok on 7001-7003)",
        WAIT,
        cluster_healthy,
    )?;
    report("redis-cluster", address, "ok (created)");
    Ok(())
}

/// Starts one cluster node in an empty directory of its own.
fn start_cluster_node(port: &str) -> Result {
    let dir = Path::new(CLUSTER_DIR).join(port);
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
    }
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    cmd::run_bounded(
        line("redis-server --cluster-enabled yes --appendonly no --daemonize yes --bind 127.0.0.1")
            .args(["--save", "", "--port", port])
            .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .arg("--pidfile")
            .arg(dir.join("redis.pid")),
        START_LIMIT,
    )
}

// ---- PostgreSQL --------------------------------------------------------------------------------

fn postgres_ready() -> bool {
    cmd::probe(&mut line("pg_isready -q -h 127.0.0.1 -p 5432"))
}

fn postgres() -> Result {
    let address = "127.0.0.1:5432 (db test)";
    let mut state = "ok";
    if !postgres_ready() {
        let version = postgres_version()?;
        trust_local_connections(&version)?;
        cmd::run_bounded(
            line("pg_ctlcluster --skip-systemctl-redirect").args([&version, "main", "start"]),
            START_LIMIT,
        )?;
        cmd::wait_until("postgresql on 127.0.0.1:5432", WAIT, postgres_ready)?;
        state = "ok (started)";
    }

    let query = "SELECT 'role:' || rolname FROM pg_roles WHERE rolname = 'root' \
                 UNION ALL SELECT 'db:' || datname FROM pg_database WHERE datname IN ('test', 'root')";
    let found = match postgres_query(query) {
        Ok(found) => found,
        Err(first) => {
            // Most likely a fresh install asking for a password: trust loopback, reload, retry.
            let version = postgres_version()?;
            if !trust_local_connections(&version)? {
                return Err(first);
            }
            cmd::run_bounded(
                line("pg_ctlcluster --skip-systemctl-redirect").args([&version, "main", "reload"]),
                START_LIMIT,
            )?;
            postgres_query(query)?
        }
    };
    let has = |item: &str| found.lines().any(|line| line.trim() == item);
    if !has("role:root") {
        cmd::run(&mut line(
            "createuser -w -h 127.0.0.1 -U postgres --superuser root",
        ))?;
    }
    for db in ["test", "root"] {
        if !has(&format!("db:{db}")) {
            cmd::run(line("createdb -w -h 127.0.0.1 -U postgres").arg(db))?;
        }
    }
    report("postgres", address, state);
    Ok(())
}

fn postgres_query(sql: &str) -> Result<String> {
    cmd::capture(
        line("psql -X -w -q -t -A -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d postgres -c")
            .arg(sql),
    )
}

/// The installed PostgreSQL major version with a cluster `main`, creating the cluster if none exists.
fn postgres_version() -> Result<String> {
    if let Some(version) = newest_version(Path::new("/etc/postgresql"))? {
        return Ok(version);
    }
    let version = newest_version(Path::new("/usr/lib/postgresql"))?
        .ok_or("postgresql: no server version found under /usr/lib/postgresql")?;
    cmd::run_bounded(
        line("pg_createcluster").args([&version, "main"]),
        START_LIMIT,
    )?;
    Ok(version)
}

/// The highest numeric directory name under `dir` (PostgreSQL major versions), if any.
fn newest_version(dir: &Path) -> Result<Option<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display()).into()),
    };
    let mut versions: Vec<(u32, String)> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| Some((name.parse().ok()?, name)))
        .collect();
    versions.sort();
    Ok(versions.pop().map(|(_, name)| name))
}

/// Makes `pg_hba.conf` trust the local socket and loopback (a test machine's setting), keeping the
/// original beside it. Returns whether the file changed.
fn trust_local_connections(version: &str) -> Result<bool> {
    let path = PathBuf::from(format!("/etc/postgresql/{version}/main/pg_hba.conf"));
    let current =
        fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let untrusted = current
        .lines()
        .map(str::trim)
        .any(|line| !line.is_empty() && !line.starts_with('#') && !line.contains("trust"));
    if !untrusted {
        return Ok(false);
    }
    let backup = path.with_extension("conf.before-xtask");
    if !backup.exists() {
        fs::copy(&path, &backup).map_err(|e| format!("cannot back up {}: {e}", path.display()))?;
    }
    let trusted = "# Written by `cargo xtask services`: a test machine trusts local connections.\n\
                   local all all trust\n\
                   host all all 127.0.0.1/32 trust\n\
                   host all all ::1/128 trust\n\
                   local replication all trust\n\
                   host replication all 127.0.0.1/32 trust\n\
                   host replication all ::1/128 trust\n";
    fs::write(&path, trusted).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!(
        "postgresql: {} now trusts local connections",
        path.display()
    );
    Ok(true)
}

// ---- MariaDB -----------------------------------------------------------------------------------

fn mariadb_answers() -> bool {
    // `ping` succeeds whenever the server runs, even if the login itself is refused.
    cmd::probe(&mut line(
        "mariadb-admin -h 127.0.0.1 -P 3306 -u root --connect-timeout=2 ping",
    ))
}

fn mariadb_tcp(sql: &str) -> Result<String> {
    cmd::capture(line("mariadb -h 127.0.0.1 -P 3306 -u root -e").arg(sql))
}

fn mariadb() -> Result {
    let address = "127.0.0.1:3306 (db test)";
    let mut state = "ok";
    if !mariadb_answers() {
        fs::create_dir_all("/run/mysqld").map_err(|e| format!("cannot create /run/mysqld: {e}"))?;
        cmd::run(&mut line("chown mysql:mysql /run/mysqld"))?;
        if !Path::new("/var/lib/mysql/mysql").is_dir() {
            cmd::run_bounded(
                &mut line("mariadb-install-db --user=mysql --datadir=/var/lib/mysql"),
                START_LIMIT,
            )?;
        }
        cmd::run_bounded(
            &mut line("start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd"),
            START_LIMIT,
        )?;
        cmd::wait_until("mariadb on 127.0.0.1:3306", WAIT, mariadb_answers)?;
        state = "ok (started)";
    }

    let create = "CREATE DATABASE IF NOT EXISTS test";
    if mariadb_tcp(create).is_err() {
        // Debian's root logs in through the unix socket only: let it in over TCP without a
        // password as well, working through the socket.
        let grant = "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket \
                       OR mysql_native_password USING PASSWORD(''); \
                     CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; \
                     GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; \
                     FLUSH PRIVILEGES";
        cmd::run(line("mariadb -u root -e").arg(grant))?;
        mariadb_tcp(create)
            .map_err(|e| format!("mariadb: root still cannot log in over TCP: {e}"))?;
    }
    report("mariadb", address, state);
    Ok(())
}
