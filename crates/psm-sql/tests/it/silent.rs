//! A PostgreSQL that stops answering (behind a proxy that freezes the traffic, as a network
//! partition would): calls come back with a typed timeout instead of hanging, and the store
//! recovers when the traffic flows again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use psm_core::{Error, NewSession, SessionStore};
use psm_sql::SqlStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::faults::no_hang;

/// Forwards bytes one way, holding them back while `frozen` is set.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while frozen.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A TCP proxy to `upstream` on a spare local port; returns the port.
async fn proxy(upstream: String, frozen: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pump(cr, sw, frozen.clone()));
            tokio::spawn(pump(sr, cw, frozen.clone()));
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_gives_typed_timeouts_not_hangs() {
    let options =
        "&statement_timeout=300ms&acquire_timeout=500ms&check_connections=1&max_connections=2";
    let Some(direct) = crate::common::pg_store_url(options).await else {
        return;
    };
    let mut url = url::Url::parse(&direct).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let frozen = Arc::new(AtomicBool::new(false));
    let port = proxy(upstream, frozen.clone()).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(port)).unwrap();
    let store = SqlStore::connect(url.as_str()).await.unwrap();
    store
        .store_session(NewSession::new("s1", "u1").permissions(["read"]))
        .await
        .unwrap();
    assert!(store.check_permission("s1", "read").await.unwrap());

    frozen.store(true, Ordering::Relaxed);
    let err = no_hang(store.check_permission("s1", "read"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "check: {err:?}");
    let err = no_hang(store.store_session(NewSession::new("s2", "u1")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "store: {err:?}");
    let err = no_hang(store.get_session("s1")).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "get: {err:?}");

    frozen.store(false, Ordering::Relaxed);
    let mut recovered = false;
    for _ in 0..40 {
        match no_hang(store.check_permission("s1", "read")).await {
            Ok(granted) => {
                assert!(granted);
                recovered = true;
                break;
            }
            Err(e) => {
                assert!(e.is_transient(), "{e:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert!(recovered, "checks recover once the server answers again");
    let mut wrote = false;
    for _ in 0..40 {
        match no_hang(store.store_session(NewSession::new("s3", "u1"))).await {
            Ok(_) => {
                wrote = true;
                break;
            }
            Err(e) => {
                assert!(e.is_transient(), "{e:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert!(wrote, "writes recover once the server answers again");
    store.close().await.unwrap();
}
