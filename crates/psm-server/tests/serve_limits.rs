//! `psm_server::serve` under clients that misbehave: a slow header is cut off, an idle
//! keep-alive connection is closed, connections beyond the cap wait, and shutdown drops a
//! request that outlives its deadline. Every wait here is a hang guard, not a timed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use psm_server::{ServeOptions, Shutdown, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};

/// Long enough for any loaded machine; only a hang reaches it.
const GUARD: Duration = Duration::from_secs(60);

async fn start(
    app: Router,
    options: ServeOptions,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<Shutdown>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app, options, async {
        let _ = stopped.await;
    }));
    (addr, stop, server)
}

fn app() -> Router {
    Router::new().route("/healthz", get(|| async { "ok" }))
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(GUARD, stream.read_to_end(&mut out))
        .await
        .expect("the server never closed the connection")
        .ok();
    String::from_utf8_lossy(&out).into_owned()
}

const GET_HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let options = ServeOptions::default().header_read_timeout(Duration::from_millis(200));
    let (addr, _stop, _server) = start(app(), options).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"GET /healthz HT").await.unwrap();
    let got = read_to_close(&mut c).await;
    assert!(!got.contains("200 OK"), "{got}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let options = ServeOptions::default().header_read_timeout(Duration::from_millis(200));
    let (addr, _stop, _server) = start(app(), options).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(GET_HEALTHZ).await.unwrap();
    // the answer comes, then the idle connection is closed without another request
    let got = read_to_close(&mut c).await;
    assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let options = ServeOptions::default()
        .max_connections(1)
        .header_read_timeout(Duration::from_secs(300));
    let (addr, _stop, _server) = start(app(), options).await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    first.write_all(b"GET /healthz HT").await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    second.write_all(GET_HEALTHZ).await.unwrap();
    // While the first holds the only slot, the second is not served.
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), second.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond the cap: {early:?}");
    drop(first);
    let n = tokio::time::timeout(GUARD, second.read(&mut buf))
        .await
        .expect("the waiting connection was never served")
        .unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200 OK"),
        "{:?}",
        &buf[..n]
    );
}

#[tokio::test]
async fn shutdown_drops_a_request_that_outlives_the_grace_period() {
    let started = Arc::new(Notify::new());
    let app = {
        let started = started.clone();
        Router::new().route(
            "/hang",
            get(move || {
                let started = started.clone();
                async move {
                    started.notify_one();
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    "never"
                }
            }),
        )
    };
    let options = ServeOptions::default().shutdown_grace(Duration::from_millis(100));
    let (addr, stop, server) = start(app, options).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::timeout(GUARD, started.notified())
        .await
        .unwrap();
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(GUARD, server)
        .await
        .expect("shutdown did not end")
        .unwrap()
        .unwrap();
    assert_eq!(ended.dropped_connections, 1);
    let got = read_to_close(&mut c).await;
    assert!(!got.contains("never"), "{got}");
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish_within_the_grace_period() {
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let app = {
        let (started, release) = (started.clone(), release.clone());
        Router::new().route(
            "/slow",
            get(move || {
                let (started, release) = (started.clone(), release.clone());
                async move {
                    started.notify_one();
                    release.notified().await;
                    "done"
                }
            }),
        )
    };
    let options = ServeOptions::default().shutdown_grace(Duration::from_secs(300));
    let (addr, stop, server) = start(app, options).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::timeout(GUARD, started.notified())
        .await
        .unwrap();
    stop.send(()).unwrap();
    release.notify_one();
    let got = read_to_close(&mut c).await;
    assert!(got.ends_with("done"), "{got}");
    let ended = tokio::time::timeout(GUARD, server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ended.dropped_connections, 0);
}

/// The bounds `serve` applies unless told otherwise (and `psm serve`'s flags default to): a
/// 10 s shutdown deadline and header-read timeout, 1,024 connections.
#[test]
fn the_default_bounds_are_a_ten_second_shutdown_deadline_and_header_timeout() {
    let o = ServeOptions::default();
    assert_eq!(o.shutdown_grace, Duration::from_secs(10));
    assert_eq!(o.header_read_timeout, Duration::from_secs(10));
    assert_eq!(o.max_connections, 1024);
}
