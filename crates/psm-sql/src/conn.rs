//! Connections: one `Handle` per database (the sqlx pool, the read lanes, error context), the
//! `Conns` enum over the compiled-in databases, and the `dispatch!` macro that runs the same code
//! against whichever one a store uses.

use std::time::Duration;

use psm_core::{Error, Result};
use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, Pool};

use crate::error::ErrorContext;
use crate::lanes::{AcquireError, Connector, Lane, Lanes};

/// The pool, the read lanes and the error context of one database.
pub(crate) struct Handle<DB: Database> {
    pub(crate) pool: Pool<DB>,
    pub(crate) lanes: Lanes<DB::Connection>,
    pub(crate) connector: Connector<DB::Connection>,
    pub(crate) ctx: ErrorContext,
    /// A connection held open and never used, so that an in-memory SQLite database (which lives
    /// only while one of its connections does) survives every other connection closing.
    pub(crate) keeper: parking_lot::Mutex<Option<DB::Connection>>,
}

impl<DB: Database> std::fmt::Debug for Handle<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("backend", &self.ctx.backend)
            .field("pool_size", &self.pool.size())
            .field("lanes", &self.lanes)
            .finish()
    }
}

/// A connection for one read: a lane, or a pooled connection when there are no lanes.
pub(crate) enum FastConn<'a, DB: Database> {
    Lane(Lane<'a, DB::Connection>),
    Pool(PoolConnection<DB>),
}

impl<DB: Database> FastConn<'_, DB> {
    /// The connection to run the read on.
    pub(crate) fn conn(&mut self) -> Option<&mut DB::Connection> {
        match self {
            FastConn::Lane(lane) => lane.conn(),
            FastConn::Pool(pooled) => Some(&mut **pooled),
        }
    }

    /// True when the connection was opened for this read (a failure is then not staleness).
    pub(crate) fn is_fresh(&self) -> bool {
        match self {
            FastConn::Lane(lane) => lane.is_fresh(),
            FastConn::Pool(_) => false,
        }
    }

    /// Returns a healthy connection for reuse.
    pub(crate) fn release(self) {
        match self {
            FastConn::Lane(lane) => lane.release(),
            FastConn::Pool(pooled) => drop(pooled),
        }
    }

    /// Throws a broken connection away.
    pub(crate) fn discard(self) {
        match self {
            FastConn::Lane(lane) => drop(lane),
            FastConn::Pool(mut pooled) => pooled.close_on_drop(),
        }
    }
}

impl<DB: Database> Handle<DB> {
    /// A connection for a read on the hot path.
    pub(crate) async fn fast(&self, operation: &'static str) -> Result<FastConn<'_, DB>> {
        if self.lanes.size() == 0 {
            return self
                .pool
                .acquire()
                .await
                .map(FastConn::Pool)
                .map_err(|e| self.ctx.map(operation, e));
        }
        match self.lanes.acquire().await {
            Ok(lane) => Ok(FastConn::Lane(lane)),
            Err(AcquireError::Timeout) => Err(self.ctx.acquire_timeout(operation)),
            Err(AcquireError::Closed) => Err(Error::Closed),
            Err(AcquireError::Connect(e)) => Err(self.ctx.map(operation, e)),
        }
    }

    /// After a connection turned out dead, drops the idle lanes' connections too.
    pub(crate) fn purge_idle(&self) {
        self.lanes.purge_idle();
    }

    /// A new connection outside the pool (for migrations), opened within the acquire timeout.
    pub(crate) async fn dedicated(&self, operation: &'static str) -> Result<DB::Connection> {
        match tokio::time::timeout(self.ctx.acquire_timeout, (self.connector)()).await {
            Err(_) => Err(self.ctx.acquire_timeout(operation)),
            Ok(Err(e)) => Err(self.ctx.map(operation, e)),
            Ok(Ok(conn)) => Ok(conn),
        }
    }

    /// Opens the keeper connection (for in-memory databases).
    pub(crate) async fn keep_alive(&self) -> Result<()> {
        let conn = self.dedicated("connect").await?;
        if let Some(old) = self.keeper.lock().replace(conn) {
            drop(old);
        }
        Ok(())
    }

    /// Closes the lanes, the pool and the keeper.
    pub(crate) async fn close(&self) {
        self.lanes.close().await;
        self.pool.close().await;
        let keeper = self.keeper.lock().take();
        if let Some(conn) = keeper {
            close_quietly(conn).await;
        }
    }
}

/// Runs `fut` within `limit` (if any); `None` when it ran out.
pub(crate) async fn bounded<T>(
    limit: Option<Duration>,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    match limit {
        None => Some(fut.await),
        Some(limit) => tokio::time::timeout(limit, fut).await.ok(),
    }
}

/// Closes a dedicated connection, waiting at most a second.
pub(crate) async fn close_quietly<C: Connection>(conn: C) {
    let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
}

/// The database a store or provider talks to.
#[derive(Debug)]
pub(crate) enum Conns {
    #[cfg(feature = "postgres")]
    Postgres(Handle<sqlx::Postgres>),
    #[cfg(feature = "sqlite")]
    Sqlite(Handle<sqlx::Sqlite>),
    #[cfg(feature = "mysql")]
    MySql(Handle<sqlx::MySql>),
}

/// Runs `$body` with `$h` bound to the concrete `Handle` of `$conns` (the body is compiled once
/// per database, so it may use that database's types).
macro_rules! dispatch {
    ($conns:expr, $h:ident => $body:expr) => {
        match $conns {
            #[cfg(feature = "postgres")]
            $crate::conn::Conns::Postgres($h) => $body,
            #[cfg(feature = "sqlite")]
            $crate::conn::Conns::Sqlite($h) => $body,
            #[cfg(feature = "mysql")]
            $crate::conn::Conns::MySql($h) => $body,
        }
    };
}
pub(crate) use dispatch;

/// Runs a read on a hot-path connection: `$conn` is bound to `&mut Connection` in `$body`, which
/// returns `Result<T, sqlx::Error>`. A read that fails because its reused connection had died
/// (the server restarted) is retried once on a new connection; reads are idempotent.
macro_rules! read_fast {
    ($h:expr, $op:expr, $conn:ident => $body:expr) => {{
        let h = $h;
        let mut retried = false;
        loop {
            let mut fast = h.fast($op).await?;
            let result = match fast.conn() {
                Some($conn) => $crate::conn::bounded(h.ctx.client_limit(), async { $body }).await,
                None => break Err(h.ctx.acquire_timeout($op)),
            };
            let Some(result) = result else {
                // the query was abandoned mid-flight: its connection is not reusable
                fast.discard();
                break Err(h.ctx.statement_timeout($op));
            };
            match result {
                Ok(value) => {
                    fast.release();
                    break Ok(value);
                }
                Err(e) if $crate::error::breaks_connection(&e) => {
                    let stale = !fast.is_fresh() && $crate::error::connection_lost(&e);
                    fast.discard();
                    if stale && !retried {
                        h.purge_idle();
                        retried = true;
                        continue;
                    }
                    break Err(h.ctx.map($op, e));
                }
                Err(e) => {
                    fast.release();
                    break Err(h.ctx.map($op, e));
                }
            }
        }
    }};
}
pub(crate) use read_fast;

impl Conns {
    /// The error context of the database.
    pub(crate) fn ctx(&self) -> ErrorContext {
        dispatch!(self, h => h.ctx)
    }

    /// Holds one connection open for the life of the store (in-memory SQLite).
    pub(crate) async fn keep_alive(&self) -> Result<()> {
        dispatch!(self, h => h.keep_alive().await)
    }

    /// Opens and closes one connection: fails fast (no pool retries) when the server is down.
    pub(crate) async fn probe(&self) -> Result<()> {
        dispatch!(self, h => {
            let conn = h.dedicated("connect").await?;
            close_quietly(conn).await;
            Ok(())
        })
    }

    /// Closes every connection.
    pub(crate) async fn close(&self) {
        dispatch!(self, h => h.close().await)
    }
}
