//! Connections: a small fixed set of multiplexed connections (or cluster connections) used
//! round-robin on the hot path, reconnected transparently after a failure, every call bounded by
//! the configured timeout; plus the deadpool pool used for SCAN-heavy maintenance.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use psm_core::{Error, Result};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Cmd, FromRedisValue, Pipeline, RedisError, RedisFuture, Value};
use tokio::time::{Instant, timeout_at};

use crate::batch::{Flusher, Joined, Message, Queue};

pub(crate) const BACKEND: &str = "redis";

/// One hot-path connection: a multiplexed connection to one server, or a cluster connection
/// (which multiplexes one connection per node and routes each command by its key's slot).
#[derive(Clone)]
pub(crate) enum Conn {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// What the connections connect to (one per store: the size difference does not matter).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Target {
    Single(redis::Client),
    Cluster(ClusterClient),
}

/// The maintenance pool (deadpool-redis), sized by `max_connections`.
pub(crate) enum Pool {
    Single(deadpool_redis::Pool),
    Cluster(deadpool_redis::cluster::Pool),
    /// No pool: maintenance uses the hot-path connections (a TLS cluster with a private CA,
    /// which deadpool-redis's cluster manager cannot be given).
    Hot,
}

/// A pooled connection, usable like any other connection.
pub(crate) enum Pooled {
    Single(deadpool_redis::Connection),
    Cluster(deadpool_redis::cluster::Connection),
    Hot(Conn),
}

impl Pooled {
    /// The cluster connection, when this is one (cluster SCAN routes by node address).
    pub(crate) fn cluster(&mut self) -> Option<&mut ClusterConnection> {
        match self {
            Pooled::Single(_) | Pooled::Hot(Conn::Single(_)) => None,
            Pooled::Cluster(c) => Some(c),
            Pooled::Hot(Conn::Cluster(c)) => Some(c),
        }
    }
}

impl ConnectionLike for Pooled {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Pooled::Single(c) => c.req_packed_command(cmd),
            Pooled::Cluster(c) => c.req_packed_command(cmd),
            Pooled::Hot(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Pooled::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Pooled::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Pooled::Hot(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Pooled::Single(c) => c.get_db(),
            Pooled::Cluster(c) => c.get_db(),
            Pooled::Hot(c) => c.get_db(),
        }
    }
}

struct Slot {
    /// The live connection and its generation (so a failure resets only the connection it hit).
    conn: Mutex<Option<(u64, Conn)>>,
    /// Serialises reconnects of this slot.
    connecting: tokio::sync::Mutex<()>,
    /// Commands waiting to go out together on this connection (see `batch.rs`).
    queue: Queue,
}

/// The shared connection layer of a store and of a roles provider.
pub(crate) struct Link {
    target: Target,
    slots: Box<[Slot]>,
    pool: Pool,
    next: AtomicUsize,
    generation: AtomicU64,
    closed: AtomicBool,
    connect_timeout: Duration,
    timeout: Duration,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("cluster", &self.is_cluster())
            .field("connections", &self.slots.len())
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}

impl Link {
    pub(crate) fn new(
        target: Target,
        pool: Pool,
        connections: usize,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Self {
        let slots = (0..connections.max(1))
            .map(|_| Slot {
                conn: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
                queue: Queue::default(),
            })
            .collect();
        Link {
            target,
            slots,
            pool,
            next: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            connect_timeout,
            timeout,
        }
    }

    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.target, Target::Cluster(_))
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn ensure_open(&self) -> Result<()> {
        if self.is_closed() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Opens every hot-path connection now (used at construction, so a wrong URL fails early).
    pub(crate) async fn connect_all(&self) -> Result<()> {
        for index in 0..self.slots.len() {
            let deadline = Instant::now() + self.connect_timeout;
            timeout_at(deadline, self.slot_conn(index))
                .await
                .map_err(|_| timed_out("connect", self.connect_timeout))??;
        }
        Ok(())
    }

    /// Runs `f` on a hot-path connection, bounded by the timeout, mapping errors to psm errors.
    /// A connection that failed (I/O error, dropped, timed out) is replaced on the next call.
    pub(crate) async fn run<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        self.ensure_open()?;
        let deadline = Instant::now() + self.timeout;
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        self.run_on(index, deadline, op, f).await
    }

    /// [`run`](Self::run) on connection `index` with the given deadline.
    async fn run_on<T, F, Fut>(
        &self,
        index: usize,
        deadline: Instant,
        op: &'static str,
        f: F,
    ) -> Result<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        // the common case, a live connection, needs no timer
        let (generation, conn) = match self.live_conn(index) {
            Some(live) => live,
            None => timeout_at(deadline, self.slot_conn(index))
                .await
                .map_err(|_| timed_out(op, self.timeout))??,
        };
        match timeout_at(deadline, f(conn)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => {
                if needs_reconnect(&err) {
                    self.reset(index, generation);
                }
                Err(map_error(err, op, self.timeout))
            }
            Err(_) => {
                self.reset(index, generation);
                metrics::counter!("psm_redis_timeouts_total").increment(1);
                Err(timed_out(op, self.timeout))
            }
        }
    }

    /// Sends the command `cmd` builds on a hot-path connection, as [`run`](Self::run) does, and
    /// decodes its reply; on a single server, calls that meet on one connection while a command
    /// is in flight there go out together as one pipeline (`batch.rs`), so the server and the
    /// driver see one write and one read per batch instead of one per call. A cluster
    /// connection routes every command by its own slot and is used directly.
    pub(crate) async fn run_batched<T: FromRedisValue>(
        self: &Arc<Self>,
        op: &'static str,
        cmd: impl Fn() -> Cmd,
    ) -> Result<T> {
        self.ensure_open()?;
        let deadline = Instant::now() + self.timeout;
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let direct = |index| {
            self.run_on(index, deadline, op, |mut c| {
                let cmd = cmd();
                async move { cmd.query_async(&mut c).await }
            })
        };
        if self.is_cluster() {
            return direct(index).await;
        }
        let slot = self.slots.get(index).ok_or(Error::Closed)?;
        let rx = match slot.queue.join(op, &cmd) {
            Joined::Direct(_in_flight) => return direct(index).await,
            Joined::Wait(rx) => rx,
            Joined::Flush(batch, rx) => {
                tokio::spawn(Flusher::new(self.clone(), index, batch).run());
                rx
            }
        };
        let value = match timeout_at(deadline, rx).await {
            Ok(Ok(Message::Done(reply))) => reply?,
            Ok(Ok(Message::Direct)) => return direct(index).await,
            Ok(Err(_)) => {
                return Err(Error::Connection {
                    backend: BACKEND,
                    message: "the reply was lost (runtime shut down?)".to_owned(),
                });
            }
            Err(_) => {
                metrics::counter!("psm_redis_timeouts_total").increment(1);
                return Err(timed_out(op, self.timeout));
            }
        };
        value
            .extract_error()
            .and_then(|v| Ok(redis::from_redis_value(v)?))
            .map_err(|e| map_error(e, op, self.timeout))
    }

    /// Sends one batch on connection `index` (the flusher's round trip), bounded by the timeout.
    pub(crate) async fn send_batch(
        &self,
        index: usize,
        pipe: &Pipeline,
        count: usize,
    ) -> Result<Vec<Value>> {
        self.ensure_open()?;
        let deadline = Instant::now() + self.timeout;
        self.run_on(index, deadline, "batch", |mut c| async move {
            c.req_packed_commands(pipe, 0, count).await
        })
        .await
    }

    /// The batch queue of connection `index`.
    pub(crate) fn queue(&self, index: usize) -> Option<&Queue> {
        self.slots.get(index).map(|slot| &slot.queue)
    }

    /// Runs `f` on a pooled connection (maintenance work that should not queue behind, or hold
    /// up, the hot path), bounded by the timeout.
    pub(crate) async fn run_pooled<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T>
    where
        F: FnOnce(Pooled) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        self.ensure_open()?;
        let deadline = Instant::now() + self.timeout;
        let conn = timeout_at(deadline, self.pooled())
            .await
            .map_err(|_| timed_out(op, self.timeout))??;
        match timeout_at(deadline, f(conn)).await {
            Ok(result) => result.map_err(|e| map_error(e, op, self.timeout)),
            Err(_) => Err(timed_out(op, self.timeout)),
        }
    }

    async fn pooled(&self) -> Result<Pooled> {
        let pool_error = |e: &dyn std::fmt::Display| Error::Connection {
            backend: BACKEND,
            message: format!("pool: {e}"),
        };
        match &self.pool {
            Pool::Single(p) => p
                .get()
                .await
                .map(Pooled::Single)
                .map_err(|e| pool_error(&e)),
            Pool::Cluster(p) => p
                .get()
                .await
                .map(Pooled::Cluster)
                .map_err(|e| pool_error(&e)),
            Pool::Hot => {
                let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
                self.slot_conn(index)
                    .await
                    .map(|(_, conn)| Pooled::Hot(conn))
            }
        }
    }

    /// The connection of slot `index` when it is open.
    fn live_conn(&self, index: usize) -> Option<(u64, Conn)> {
        let slot = self.slots.get(index)?;
        let guard = slot.conn.lock();
        guard
            .as_ref()
            .map(|(generation, conn)| (*generation, conn.clone()))
    }

    async fn slot_conn(&self, index: usize) -> Result<(u64, Conn)> {
        let slot = self.slots.get(index).ok_or(Error::Closed)?;
        if let Some((generation, conn)) = &*slot.conn.lock() {
            return Ok((*generation, conn.clone()));
        }
        let _one_at_a_time = slot.connecting.lock().await;
        if let Some((generation, conn)) = &*slot.conn.lock() {
            return Ok((*generation, conn.clone()));
        }
        self.ensure_open()?;
        let conn = self.connect().await?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        *slot.conn.lock() = Some((generation, conn.clone()));
        metrics::counter!("psm_redis_connects_total").increment(1);
        Ok((generation, conn))
    }

    async fn connect(&self) -> Result<Conn> {
        let result = match &self.target {
            Target::Single(client) => {
                // no response timeout in the driver: `run` bounds every call with its own
                // deadline (and replaces the connection when it passes), so a second timer per
                // request would only cost
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(self.connect_timeout))
                    .set_response_timeout(None);
                client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map(Conn::Single)
            }
            Target::Cluster(client) => client.get_async_connection().await.map(Conn::Cluster),
        };
        result.map_err(|e| connection_error(&e))
    }

    fn reset(&self, index: usize, generation: u64) {
        if let Some(slot) = self.slots.get(index) {
            let mut guard = slot.conn.lock();
            if guard.as_ref().is_some_and(|(g, _)| *g == generation) {
                *guard = None;
                metrics::counter!("psm_redis_reconnects_total").increment(1);
            }
        }
    }

    /// Marks the link closed and drops every connection.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for slot in self.slots.iter() {
            *slot.conn.lock() = None;
        }
        match &self.pool {
            Pool::Single(p) => p.close(),
            Pool::Cluster(p) => p.close(),
            Pool::Hot => {}
        }
    }
}

fn needs_reconnect(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
        || err.is_unrecoverable_error()
}

pub(crate) fn timed_out(operation: &'static str, after: Duration) -> Error {
    Error::Timeout {
        backend: BACKEND,
        operation,
        after,
    }
}

pub(crate) fn connection_error(err: &RedisError) -> Error {
    Error::Connection {
        backend: BACKEND,
        message: err.to_string(),
    }
}

/// Maps a driver error: unreachable or lost servers are `Connection`, slow ones `Timeout`,
/// anything else (a server reply error, a type mismatch) `Backend`.
pub(crate) fn map_error(err: RedisError, op: &'static str, after: Duration) -> Error {
    use redis::{ErrorKind, ServerErrorKind};
    metrics::counter!("psm_redis_errors_total").increment(1);
    if err.is_timeout() {
        return timed_out(op, after);
    }
    let lost = needs_reconnect(&err)
        || err.is_cluster_error()
        || matches!(
            err.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(ServerErrorKind::BusyLoading)
                | ErrorKind::Server(ServerErrorKind::MasterDown)
        );
    if lost {
        connection_error(&err)
    } else {
        Error::backend(BACKEND, op, err)
    }
}
