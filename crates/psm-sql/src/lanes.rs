//! Dedicated connections for the read hot path ("lanes"): a semaphore and a stack of idle
//! connections, with no ping and no background task per checkout.
//!
//! sqlx's pool pings every connection when it is returned (in a spawned task), which costs a
//! round trip per query and halves single-task throughput. A lane hands its connection back
//! synchronously when the query succeeded and drops it when the query failed in a way that
//! leaves the connection unusable (or when the caller was cancelled mid-query), so a broken
//! connection is never reused.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{Semaphore, SemaphorePermit, TryAcquireError};
use tokio::time::Instant;

/// Future returned by a [`Connector`].
pub(crate) type ConnectFuture<C> = Pin<Box<dyn Future<Output = Result<C, sqlx::Error>> + Send>>;
/// Opens one new, initialised connection.
pub(crate) type Connector<C> = Arc<dyn Fn() -> ConnectFuture<C> + Send + Sync>;

/// Why no lane could be had.
#[derive(Debug)]
pub(crate) enum AcquireError {
    /// Every lane stayed busy (or connecting took) longer than the acquire timeout.
    Timeout,
    /// The lanes were closed.
    Closed,
    /// A new connection could not be opened.
    Connect(sqlx::Error),
}

/// A fixed number of connections, each used by one task at a time.
pub(crate) struct Lanes<C> {
    connector: Connector<C>,
    idle: Mutex<Vec<C>>,
    permits: Semaphore,
    size: usize,
    acquire_timeout: Duration,
}

impl<C> fmt::Debug for Lanes<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lanes")
            .field("size", &self.size)
            .field("idle", &self.idle.lock().len())
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

impl<C: sqlx::Connection> Lanes<C> {
    /// `size` lanes whose connections `connector` opens on first use.
    pub(crate) fn new(size: usize, acquire_timeout: Duration, connector: Connector<C>) -> Self {
        Lanes {
            connector,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Semaphore::new(size),
            size,
            acquire_timeout,
        }
    }

    /// Number of lanes (0: reads use the pool).
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Waits (at most the acquire timeout) for a free lane and its connection.
    ///
    /// A free lane holding an idle connection is taken without reading the clock or arming a
    /// timer (the check path's common case); only waiting for a lane or opening a connection
    /// is bounded by the deadline.
    pub(crate) async fn acquire(&self) -> Result<Lane<'_, C>, AcquireError> {
        let mut deadline = None;
        let permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return Err(AcquireError::Closed),
            Err(TryAcquireError::NoPermits) => {
                let until = *deadline.insert(Instant::now() + self.acquire_timeout);
                match tokio::time::timeout_at(until, self.permits.acquire()).await {
                    Err(_) => return Err(AcquireError::Timeout),
                    Ok(Err(_)) => return Err(AcquireError::Closed),
                    Ok(Ok(permit)) => permit,
                }
            }
        };
        let idle = self.idle.lock().pop();
        let (conn, fresh) = match idle {
            Some(conn) => (conn, false),
            None => match tokio::time::timeout_at(
                deadline.unwrap_or_else(|| Instant::now() + self.acquire_timeout),
                (self.connector)(),
            )
            .await
            {
                Err(_) => return Err(AcquireError::Timeout),
                Ok(Err(e)) => return Err(AcquireError::Connect(e)),
                Ok(Ok(conn)) => (conn, true),
            },
        };
        Ok(Lane {
            lanes: self,
            conn: Some(conn),
            fresh,
            _permit: permit,
        })
    }

    /// Drops every idle connection (after one turned out dead, the others likely are too).
    pub(crate) fn purge_idle(&self) {
        let dead = std::mem::take(&mut *self.idle.lock());
        drop(dead);
    }

    /// Refuses further acquisitions and closes the idle connections.
    pub(crate) async fn close(&self) {
        self.permits.close();
        let conns = std::mem::take(&mut *self.idle.lock());
        for conn in conns {
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
        }
    }
}

/// One checked-out lane. Dropping it without [`Lane::release`] discards its connection.
pub(crate) struct Lane<'a, C> {
    lanes: &'a Lanes<C>,
    conn: Option<C>,
    fresh: bool,
    _permit: SemaphorePermit<'a>,
}

impl<C> Lane<'_, C> {
    /// True when the connection was opened for this checkout (so a failure is not staleness).
    pub(crate) fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// The connection; `None` only after release, which consumes the lane.
    pub(crate) fn conn(&mut self) -> Option<&mut C> {
        self.conn.as_mut()
    }

    /// Hands the (healthy) connection back for the next caller.
    pub(crate) fn release(mut self) {
        if let Some(conn) = self.conn.take()
            && !self.lanes.permits.is_closed()
        {
            self.lanes.idle.lock().push(conn);
        }
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::str::FromStr;

    use sqlx::ConnectOptions;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

    use super::*;

    fn lanes(size: usize) -> Lanes<SqliteConnection> {
        let connector: Connector<SqliteConnection> = Arc::new(|| {
            Box::pin(async {
                SqliteConnectOptions::from_str("sqlite::memory:")?
                    .connect()
                    .await
            })
        });
        Lanes::new(size, Duration::from_millis(100), connector)
    }

    #[tokio::test]
    async fn a_busy_lane_times_out_and_released_connections_are_reused() {
        let lanes = lanes(1);
        let held = lanes.acquire().await.unwrap();
        assert!(held.is_fresh());
        assert!(matches!(lanes.acquire().await, Err(AcquireError::Timeout)));
        held.release();
        let again = lanes.acquire().await.unwrap();
        assert!(!again.is_fresh(), "a released connection is reused");
        drop(again);
        let third = lanes.acquire().await.unwrap();
        assert!(
            third.is_fresh(),
            "a lane dropped without release discards its connection"
        );
        third.release();
        lanes.close().await;
        assert!(matches!(lanes.acquire().await, Err(AcquireError::Closed)));
    }

    #[tokio::test]
    async fn purging_drops_idle_connections() {
        let lanes = lanes(2);
        let a = lanes.acquire().await.unwrap();
        let b = lanes.acquire().await.unwrap();
        a.release();
        b.release();
        lanes.purge_idle();
        assert!(lanes.acquire().await.unwrap().is_fresh());
    }
}
