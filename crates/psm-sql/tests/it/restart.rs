//! A PostgreSQL cluster of the test's own, killed mid-run: every call fails with a typed
//! transient error within its timeout, and the same store recovers once the server is back.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use psm_core::testkit::services_required;
use psm_core::{Error, NewSession, SessionStore};
use psm_sql::SqlStore;

use crate::faults::no_hang;

/// A throwaway PostgreSQL cluster in a temporary directory, on a spare port.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    fn init() -> Option<Cluster> {
        let bin = PathBuf::from(
            std::env::var("PSM_PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into()),
        );
        if !bin.join("initdb").exists() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let uid = Command::new("id").arg("-u").output().ok()?;
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .ok()?;
            assert!(ok.success(), "chown of the cluster directory failed");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = cluster.data();
        let ok = cluster.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        assert!(ok, "initdb failed");
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) -> bool {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        cmd.args(args)
            .output()
            .map(|o| {
                if !o.status.success() {
                    eprintln!("{tool} failed: {}", String::from_utf8_lossy(&o.stderr));
                }
                o.status.success()
            })
            .unwrap_or(false)
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        let data = self.data();
        let ok = self.run(
            "pg_ctl",
            &[
                "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start",
            ],
        );
        assert!(ok, "pg_ctl start failed");
    }

    /// Stops the server; `immediate` is the equivalent of killing it.
    fn stop(&self, mode: &str) -> bool {
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", &data, "-m", mode, "-w", "-t", "60", "stop"],
        )
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop("immediate");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_postgres_gives_typed_errors_then_the_same_store_recovers() {
    let Some(cluster) = Cluster::init() else {
        if services_required() {
            panic!(
                "PostgreSQL binaries for the restart test are missing and PSM_REQUIRE_SERVICES=1"
            );
        }
        eprintln!(
            "\n*** SKIPPED: no PostgreSQL binaries to run a throwaway cluster (set PSM_PG_BIN) ***\n"
        );
        return;
    };
    cluster.start();
    let url = format!(
        "{}?acquire_timeout=1s&max_connections=2&check_connections=2&table_prefix=fault_",
        cluster.url()
    );
    let store = Arc::new(SqlStore::connect(&url).await.unwrap());
    store
        .store_session(
            NewSession::new("s1", "u1")
                .permissions(["read"])
                .no_expiry(),
        )
        .await
        .unwrap();
    for _ in 0..4 {
        assert!(store.check_permission("s1", "read").await.unwrap());
    }

    // checks keep running while the server is killed under them
    let background = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut errors = Vec::new();
            for _ in 0..200 {
                match no_hang(store.check_permission("s1", "read")).await {
                    Ok(granted) => assert!(granted, "a live check must never say false"),
                    Err(e) => errors.push(e),
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            errors
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(cluster.stop("immediate"), "pg_ctl stop failed");

    // while it is down every kind of call fails with a typed, transient error
    for _ in 0..2 {
        let results: Vec<(&str, Result<(), Error>)> = vec![
            (
                "check",
                no_hang(store.check_permission("s1", "read"))
                    .await
                    .map(drop),
            ),
            ("get", no_hang(store.get_session("s1")).await.map(drop)),
            ("list", no_hang(store.list_sessions("u1")).await.map(drop)),
            ("count", no_hang(store.count_sessions()).await.map(drop)),
            (
                "store",
                no_hang(store.store_session(NewSession::new("s2", "u1")))
                    .await
                    .map(drop),
            ),
            (
                "invalidate",
                no_hang(store.invalidate_session("s1")).await.map(drop),
            ),
        ];
        for (what, result) in results {
            let err = result.expect_err(what);
            assert!(
                matches!(err, Error::Connection { .. } | Error::Timeout { .. }),
                "{what}: {err:?}"
            );
        }
    }
    assert!(!store.health_check().await.is_healthy());

    cluster.start();
    let errors = background.await.unwrap();
    assert!(
        !errors.is_empty(),
        "the background checks never saw the outage"
    );
    for e in &errors {
        assert!(e.is_transient(), "background check: {e:?}");
    }

    // recovery through the same store: reads on the lanes, writes through the pool
    let mut recovered = false;
    for _ in 0..40 {
        match no_hang(store.check_permission("s1", "read")).await {
            Ok(granted) => {
                assert!(granted, "the session survived the restart");
                recovered = true;
                break;
            }
            Err(e) => {
                assert!(e.is_transient(), "{e:?}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
    assert!(recovered, "checks did not recover after the restart");
    let mut wrote = false;
    for _ in 0..40 {
        match no_hang(store.store_session(NewSession::new("s3", "u1").permissions(["write"]))).await
        {
            Ok(_) => {
                wrote = true;
                break;
            }
            Err(e) => {
                assert!(e.is_transient(), "{e:?}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
    assert!(wrote, "writes did not recover after the restart");
    assert!(store.check_permission("s3", "write").await.unwrap());
    assert!(store.health_check().await.is_healthy());
    store.close().await.unwrap();
}
