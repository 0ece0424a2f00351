//! Shared helpers of the integration tests: service URLs, unique table prefixes, reachability
//! (skip or fail per `PSM_REQUIRE_SERVICES`), and removal of tables left by earlier runs.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use psm_core::testkit::{service_url, services_required};

pub const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const MYSQL_DEFAULT: &str = "mysql://root@127.0.0.1:3306/test";

pub fn pg_url() -> String {
    service_url("POSTGRES", PG_DEFAULT)
}

pub fn mysql_url() -> String {
    service_url("MYSQL", MYSQL_DEFAULT)
}

/// `url` with extra query options appended.
pub fn with_options(url: &str, options: &str) -> String {
    if url.contains('?') {
        format!("{url}&{options}")
    } else {
        format!("{url}?{options}")
    }
}

/// A table prefix unique to this process and call: `psmt{pid}x{n}_`.
pub fn unique_prefix() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    // The pid alone repeats across runs (nextest runs each test in a process of its own, and
    // files of a run an hour old may still be there): the clock's nanoseconds tell runs apart.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() ^ (d.as_secs() as u32));
    format!(
        "psmt{}x{}x{nanos:x}_",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A SQLite database file of its own under the target's temporary directory (files of earlier
/// runs older than an hour are removed on first use).
pub fn sqlite_file_url() -> String {
    static SWEEP: std::sync::Once = std::sync::Once::new();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("psm-sql-tests");
    std::fs::create_dir_all(&dir).unwrap();
    SWEEP.call_once(|| {
        let old = |e: &std::fs::DirEntry| {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(3600))
        };
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if old(&entry) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    });
    format!("sqlite://{}/{}.db", dir.display(), unique_prefix())
}

/// True when the server answers; otherwise fails (with `PSM_REQUIRE_SERVICES=1`) or says loudly
/// that the test is skipped.
pub async fn server_available(name: &str, url: &str) -> bool {
    let reachable = tokio::time::timeout(Duration::from_secs(5), async {
        let store = psm_sql::SqlStore::connect(&with_options(url, "migrate=false")).await?;
        psm_core::SessionStore::close(&store).await
    })
    .await;
    match reachable {
        Ok(Ok(())) => true,
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_owned(),
            };
            if services_required() {
                panic!("{name} at {url} is unreachable ({why}) and PSM_REQUIRE_SERVICES=1");
            }
            eprintln!(
                "\n*** SKIPPED: {name} at {url} is unreachable ({why}); set PSM_REQUIRE_SERVICES=1 to fail instead ***\n"
            );
            false
        }
    }
}

/// The store for a kit factory, on a manual clock that the expiry cases advance (every expiry
/// comparison binds the store's time): the server must answer (the kit has no way to skip).
pub async fn kit_store(name: &str, url: &str) -> psm_core::testkit::Subject {
    let clock = std::sync::Arc::new(psm_core::ManualClock::starting_now());
    let opened = match psm_core::StoreUrl::parse(url).and_then(psm_sql::SqlConfig::from_url) {
        Ok(config) => psm_sql::SqlStore::connect_with(config.clock(clock.clone())).await,
        Err(e) => Err(e),
    };
    match opened {
        Ok(store) => psm_core::testkit::Subject::with_clock(std::sync::Arc::new(store), clock),
        Err(e) => panic!(
            "{name} store at {url} could not be opened: {e} (start the server or set PSM_TEST_{}_URL)",
            name.to_uppercase()
        ),
    }
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
/// The pid encoded in a test table name (`psmt{pid}x{n}_...`).
fn table_pid(name: &str) -> Option<u32> {
    name.strip_prefix("psmt")?.split('x').next()?.parse().ok()
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
/// Drops the test tables of processes that are gone (run once per process, before any test
/// creates its own tables).
pub async fn drop_stale_tables(url: &str) {
    use psm_sql::sqlx;
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let me = std::process::id();
        let stale = |name: &String| table_pid(name).is_some_and(|pid| pid == me || !pid_alive(pid));
        #[cfg(feature = "postgres")]
        if url.starts_with("postgres") {
            let Ok(pool) = sqlx::PgPool::connect(url).await else { return };
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'psmt%'",
            )
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
            for name in names.iter().filter(|n| stale(n)) {
                let _ = sqlx::raw_sql(&format!("DROP TABLE IF EXISTS \"{name}\" CASCADE")).execute(&pool).await;
            }
            pool.close().await;
        }
        #[cfg(feature = "mysql")]
        if url.starts_with("mysql") {
            let Ok(pool) = sqlx::MySqlPool::connect(url).await else { return };
            let names: Vec<Vec<u8>> = sqlx::query_scalar(
                "SELECT CAST(table_name AS BINARY) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'psmt%'",
            )
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
            if let Ok(mut conn) = pool.acquire().await {
                let _ = sqlx::raw_sql("SET FOREIGN_KEY_CHECKS = 0").execute(&mut *conn).await;
                for name in names.into_iter().filter_map(|n| String::from_utf8(n).ok()).filter(|n| stale(n)) {
                    let _ = sqlx::raw_sql(&format!("DROP TABLE IF EXISTS `{name}`")).execute(&mut *conn).await;
                }
                conn.close_on_drop();
            }
            pool.close().await;
        }
    })
    .await;
}

#[cfg(feature = "postgres")]
/// A PostgreSQL store URL with tables of its own (`extra` options appended), or `None` when the
/// server is unreachable and services are not required.
pub async fn pg_store_url(extra: &str) -> Option<String> {
    let base = pg_url();
    if !server_available("postgres", &base).await {
        return None;
    }
    drop_stale_tables(&base).await;
    Some(with_options(
        &base,
        &format!("table_prefix={}{extra}", unique_prefix()),
    ))
}

#[cfg(feature = "mysql")]
/// A MySQL/MariaDB store URL with tables of its own, or `None` (see [`pg_store_url`]).
pub async fn mysql_store_url(extra: &str) -> Option<String> {
    let base = mysql_url();
    if !server_available("mysql", &base).await {
        return None;
    }
    drop_stale_tables(&base).await;
    Some(with_options(
        &base,
        &format!("table_prefix={}{extra}", unique_prefix()),
    ))
}

/// A SQLite file store URL (`extra` options appended).
pub fn sqlite_store_url(extra: &str) -> String {
    let url = sqlite_file_url();
    if extra.is_empty() {
        url
    } else {
        with_options(&url, extra.trim_start_matches('&'))
    }
}

/// Generates one `#[tokio::test]` per compiled-in database running `$scenario(url)`.
#[macro_export]
macro_rules! per_database {
    ($name:ident, $scenario:path) => {
        per_database!($name, $scenario, "");
    };
    ($name:ident, $scenario:path, $extra:expr) => {
        mod $name {
            #[cfg(feature = "sqlite")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                $scenario($crate::common::sqlite_store_url($extra)).await;
            }

            #[cfg(feature = "postgres")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                if let Some(url) = $crate::common::pg_store_url($extra).await {
                    $scenario(url).await;
                }
            }

            #[cfg(feature = "mysql")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_mysql() {
                if let Some(url) = $crate::common::mysql_store_url($extra).await {
                    $scenario(url).await;
                }
            }
        }
    };
}
