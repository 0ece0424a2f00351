//! Fault tests: a private `redis-server` on a spare port is killed, frozen and restarted while a
//! store uses it. Calls must fail fast with a typed error (never hang, never answer `true`) and
//! succeed again after the restart without rebuilding the store. Every loop is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use psm_core::testkit::services_required;
use psm_core::{Error, NewSession, SessionStore, StoreUrl};
use psm_redis::RedisStore;

/// A guard so no test hangs even if the store misbehaves (not a performance assertion).
const HANG_GUARD: Duration = Duration::from_secs(10);

struct Server {
    child: Option<Child>,
}

impl Server {
    fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    /// Starts `redis-server` on `port`; `None` when the binary is missing (and not required).
    async fn start(port: u16) -> Option<Server> {
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if services_required() => panic!("cannot run redis-server: {e}"),
            Err(e) => {
                eprintln!("SKIPPED: cannot run redis-server: {e}");
                return None;
            }
        };
        let server = Server { child: Some(child) };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not listen on {port} within 5 s");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn store_on(port: u16, timeout: &str) -> RedisStore {
    let url = format!(
        "redis://127.0.0.1:{port}?timeout={timeout}&connect_timeout={timeout}&connections=2&max_connections=2"
    );
    RedisStore::from_url(StoreUrl::parse(&url).unwrap())
        .await
        .unwrap()
}

fn assert_unavailable<T: std::fmt::Debug>(what: &str, result: Result<T, Error>) {
    match result {
        Err(Error::Connection { .. } | Error::Timeout { .. }) => {}
        other => panic!("{what}: expected a Connection or Timeout error, got {other:?}"),
    }
}

async fn guarded<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(HANG_GUARD, f)
        .await
        .unwrap_or_else(|_| panic!("{what} hung"))
}

/// Retries `check` until it answers `Ok(true)`; the loop is bounded.
async fn eventually_true(store: &RedisStore, session: &str) {
    for _ in 0..50 {
        if let Ok(true) = guarded("check", store.check_permission(session, "read")).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the store never recovered after the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_fails_calls_fast_and_the_store_recovers_after_restart() {
    let port = Server::free_port();
    let Some(mut server) = Server::start(port).await else {
        return;
    };
    let store = store_on(port, "500ms").await;
    let put = |id: &str| NewSession::new(id, "u").permissions(["read"]);
    store.store_session(put("before")).await.unwrap();
    assert!(store.check_permission("before", "read").await.unwrap());

    server.kill();
    for round in 0..3 {
        let what = format!("round {round}");
        assert_unavailable(
            &format!("{what} check"),
            guarded(&what, store.check_permission("before", "read")).await,
        );
        assert_unavailable(
            &format!("{what} get"),
            guarded(&what, store.get_session("before")).await,
        );
        assert_unavailable(
            &format!("{what} store"),
            guarded(&what, store.store_session(put("during"))).await,
        );
        assert_unavailable(
            &format!("{what} list"),
            guarded(&what, store.list_sessions("u")).await,
        );
        assert_unavailable(
            &format!("{what} count"),
            guarded(&what, store.count_sessions()).await,
        );
        assert!(!guarded(&what, store.health_check()).await.is_healthy());
    }

    let _restarted = Server::start(port).await.unwrap();
    for _ in 0..50 {
        if guarded("store", store.store_session(put("after")))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eventually_true(&store, "after").await;
    assert!(
        !store.check_permission("before", "read").await.unwrap(),
        "the restarted server kept no data, so the old session is gone"
    );
    assert_eq!(store.list_sessions("u").await.unwrap(), vec!["after"]);
    assert!(store.health_check().await.is_healthy());
    assert_eq!(store.count_sessions().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_server_times_out_and_answers_again_when_it_resumes() {
    let port = Server::free_port();
    let Some(server) = Server::start(port).await else {
        return;
    };
    let store = store_on(port, "300ms").await;
    store
        .store_session(NewSession::new("s", "u").permissions(["read"]))
        .await
        .unwrap();
    server.signal("-STOP");
    let frozen = guarded("check", store.check_permission("s", "read")).await;
    assert!(
        matches!(frozen, Err(Error::Timeout { .. })),
        "expected a timeout, got {frozen:?}"
    );
    assert_unavailable(
        "store",
        guarded("store", store.store_session(NewSession::new("t", "u"))).await,
    );
    server.signal("-CONT");
    eventually_true(&store, "s").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_is_a_connection_error_at_connect() {
    let port = Server::free_port();
    let url = format!("redis://127.0.0.1:{port}?connect_timeout=500ms&timeout=500ms");
    let result = guarded(
        "connect",
        RedisStore::from_url(StoreUrl::parse(&url).unwrap()),
    )
    .await;
    assert!(
        matches!(
            result,
            Err(Error::Connection { .. } | Error::Timeout { .. })
        ),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_are_reloaded_after_the_server_forgets_them() {
    let port = Server::free_port();
    let Some(_server) = Server::start(port).await else {
        return;
    };
    let store = store_on(port, "1s").await;
    store
        .store_session(NewSession::new("a", "u").permissions(["read"]))
        .await
        .unwrap();
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
    store
        .store_session(NewSession::new("b", "u").permissions(["read"]))
        .await
        .unwrap();
    assert_eq!(store.list_sessions("u").await.unwrap(), vec!["a", "b"]);
}

/// A store on `port` with one hot-path connection, so concurrent calls share it and batch.
async fn one_connection_store(port: u16, timeout: &str) -> RedisStore {
    let url = format!(
        "redis://127.0.0.1:{port}?timeout={timeout}&connect_timeout={timeout}&connections=1&max_connections=1"
    );
    RedisStore::from_url(StoreUrl::parse(&url).unwrap())
        .await
        .unwrap()
}

/// Calls that queue behind a command in flight go out as one pipeline; each gets its own answer,
/// and a server error on one (a session key of the wrong type) fails that call alone. The
/// server is frozen while the calls queue so they meet in one batch; the answers are asserted
/// whichever way they were sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_calls_get_their_own_answers_and_errors() {
    let port = Server::free_port();
    let Some(server) = Server::start(port).await else {
        return;
    };
    let store = std::sync::Arc::new(one_connection_store(port, "5s").await);
    for (id, grants) in [("hit", vec!["read"]), ("miss", vec!["write"])] {
        store
            .store_session(NewSession::new(id, "u").permissions(grants))
            .await
            .unwrap();
    }
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    // a string where a session hash belongs: HGET answers WRONGTYPE
    let () = redis::cmd("SET")
        .arg("psm:s:{wrong}")
        .arg("x")
        .query_async(&mut conn)
        .await
        .unwrap();

    server.signal("-STOP");
    let spawn = |id: &'static str| {
        let store = store.clone();
        tokio::spawn(async move { store.check_permission(id, "read").await })
    };
    // the first goes out directly, the second starts a batch, the rest queue behind it
    let mut calls = vec![("hit", spawn("hit"))];
    tokio::time::sleep(Duration::from_millis(100)).await;
    calls.push(("miss", spawn("miss")));
    tokio::time::sleep(Duration::from_millis(100)).await;
    for id in ["hit", "wrong", "miss", "gone", "hit"] {
        calls.push((id, spawn(id)));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.signal("-CONT");
    for (id, call) in calls {
        let answer = guarded(id, call).await.unwrap();
        match id {
            "hit" => assert!(answer.unwrap(), "hit"),
            "miss" | "gone" => assert!(!answer.unwrap(), "{id}"),
            _ => assert!(
                matches!(answer, Err(Error::Backend { .. })),
                "a wrong-type key fails its own call: {answer:?}"
            ),
        }
    }
}

/// A frozen server times out every queued call too, and all of them answer again after it
/// resumes; stores queued behind one another reload the script the server forgot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_calls_time_out_together_and_recover() {
    let port = Server::free_port();
    let Some(server) = Server::start(port).await else {
        return;
    };
    let store = std::sync::Arc::new(one_connection_store(port, "300ms").await);
    store
        .store_session(NewSession::new("s", "u").permissions(["read"]))
        .await
        .unwrap();
    let checks = |store: &std::sync::Arc<RedisStore>| {
        (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.check_permission("s", "read").await })
            })
            .collect::<Vec<_>>()
    };
    server.signal("-STOP");
    for call in checks(&store) {
        let answer = guarded("frozen check", call).await.unwrap();
        assert!(
            matches!(answer, Err(Error::Timeout { .. })),
            "expected a timeout, got {answer:?}"
        );
    }
    server.signal("-CONT");
    eventually_true(&store, "s").await;
    for call in checks(&store) {
        assert!(guarded("check", call).await.unwrap().unwrap());
    }

    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
    let stores: Vec<_> = (0..16)
        .map(|k| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .store_session(NewSession::new(format!("n{k:02}"), "v").permissions(["read"]))
                    .await
            })
        })
        .collect();
    for call in stores {
        guarded("store", call).await.unwrap().unwrap();
    }
    let listed = store.list_sessions("v").await.unwrap();
    let wanted: Vec<String> = (0..16).map(|k| format!("n{k:02}")).collect();
    assert_eq!(listed, wanted);
}
