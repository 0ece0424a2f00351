//! [`serve`]: runs a router on a TCP listener with the bounds a server facing untrusted clients
//! needs — a deadline for reading a request's headers (which also closes idle keep-alive
//! connections), a cap on open connections (further clients wait in the listen backlog), and a
//! graceful shutdown with a deadline after which in-flight requests are dropped.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// Connection limits and the shutdown deadline of [`serve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeOptions {
    /// How long a client may take to send a request's headers, and how long a keep-alive
    /// connection may stay idle between requests (default 10 s); then the connection is closed.
    pub header_read_timeout: Duration,
    /// Most connections served at once (default 1024); more wait in the listen backlog.
    pub max_connections: usize,
    /// After shutdown begins, how long in-flight requests may take to finish (default 10 s);
    /// then their connections are dropped.
    pub shutdown_grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

impl ServeOptions {
    /// Sets the header-read (and keep-alive idle) timeout.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets the most connections served at once (at least 1).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets the shutdown deadline.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }
}

/// How a [`serve`] run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Shutdown {
    /// Connections still busy at the shutdown deadline, dropped with their requests.
    pub dropped_connections: usize,
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets in-flight
/// requests finish within [`ServeOptions::shutdown_grace`] and drops the rest.
pub async fn serve<F>(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    shutdown: F,
) -> io::Result<Shutdown>
where
    F: Future<Output = ()> + Send,
{
    let permits = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait, go on.
                    tracing_accept_error(&e);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let mut stop = stop_rx.clone();
        let header_read_timeout = options.header_read_timeout;
        connections.spawn(async move {
            let _permit = permit;
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                stopped = async { stop.wait_for(|stopping| *stopping).await.is_ok() } => {
                    let _ = stopped;
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(options.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    let dropped_connections = if drained.is_err() {
        let left = connections.len();
        connections.abort_all();
        while connections.join_next().await.is_some() {}
        left
    } else {
        0
    };
    Ok(Shutdown {
        dropped_connections,
    })
}

/// Counts failed accepts (descriptor exhaustion shows here).
fn tracing_accept_error(e: &io::Error) {
    metrics::counter!("psm_http_accept_errors_total", "kind" => format!("{:?}", e.kind()))
        .increment(1);
}
