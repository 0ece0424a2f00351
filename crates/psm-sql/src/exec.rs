//! Running parameterised statements: writes through the pool (alone or in one transaction) and
//! text-column reads on the read lanes. Values only ever reach SQL as binds.

use std::future::Future;
use std::pin::Pin;

use psm_core::Result;

use crate::conn::{Conns, bounded, dispatch, read_fast};
use crate::rows::TextColumn;

/// A boxed `Send` future. Driver calls are boxed at this boundary so that the futures of the
/// public async functions are provably `Send` (sqlx's executor traits are higher-ranked, which
/// otherwise defeats the check when a caller spawns the future).
pub(crate) type BoxFut<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// One value bound to a statement, in placeholder order.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bind<'a> {
    Text(&'a str),
    Int(i64),
    OptInt(Option<i64>),
}

/// Binds every value of `$binds` to `$query`.
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for bind in $binds {
            query = match bind {
                Bind::Text(s) => query.bind(*s),
                Bind::Int(i) => query.bind(*i),
                Bind::OptInt(i) => query.bind(*i),
            };
        }
        query
    }};
}

/// Runs one write through the pool; returns the number of rows it touched.
pub(crate) fn write<'a>(
    conns: &'a Conns,
    op: &'static str,
    sql: &'a str,
    binds: &'a [Bind<'a>],
) -> BoxFut<'a, u64> {
    Box::pin(async move {
        dispatch!(conns, h => {
            let run = bind_all!(sqlx::query(sql), binds).execute(&h.pool);
            match bounded(h.ctx.client_limit(), run).await {
                None => Err(h.ctx.statement_timeout(op)),
                Some(done) => done.map(|r| r.rows_affected()).map_err(|e| h.ctx.map(op, e)),
            }
        })
    })
}

/// Runs several writes in one transaction; returns the rows each touched. Nothing is applied
/// unless all succeed; a transaction lost to a deadlock is retried (at most three runs).
pub(crate) fn write_all<'a>(
    conns: &'a Conns,
    op: &'static str,
    statements: &'a [(&'a str, &'a [Bind<'a>])],
) -> BoxFut<'a, Vec<u64>> {
    Box::pin(async move {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match transaction(conns, op, statements).await {
                Err(Retry::Conflict(_)) if attempt < 3 => continue,
                Err(Retry::Conflict(e)) | Err(Retry::Fail(e)) => return Err(e),
                Ok(touched) => return Ok(touched),
            }
        }
    })
}

/// Why a transaction failed: a conflict worth another run, or anything else.
enum Retry {
    Conflict(psm_core::Error),
    Fail(psm_core::Error),
}

async fn transaction(
    conns: &Conns,
    op: &'static str,
    statements: &[(&str, &[Bind<'_>])],
) -> Result<Vec<u64>, Retry> {
    dispatch!(conns, h => {
        let m = |e: sqlx::Error| {
            if crate::error::is_conflict(&e) {
                Retry::Conflict(h.ctx.map(op, e))
            } else {
                Retry::Fail(h.ctx.map(op, e))
            }
        };
        let mut tx = h.pool.begin().await.map_err(m)?;
        let mut touched = Vec::with_capacity(statements.len());
        for (sql, binds) in statements {
            let run = bind_all!(sqlx::query(sql), binds.iter()).execute(&mut *tx);
            let Some(done) = bounded(h.ctx.client_limit(), run).await else {
                return Err(Retry::Fail(h.ctx.statement_timeout(op)));
            };
            touched.push(done.map_err(m)?.rows_affected());
        }
        tx.commit().await.map_err(m)?;
        Ok(touched)
    })
}

/// Reads the first (text) column of every row on a read lane.
pub(crate) fn read_texts<'a>(
    conns: &'a Conns,
    op: &'static str,
    sql: &'a str,
    binds: &'a [Bind<'a>],
) -> BoxFut<'a, Vec<String>> {
    Box::pin(async move {
        dispatch!(conns, h => read_fast!(h, op, conn => {
            match bind_all!(sqlx::query(sql), binds).fetch_all(&mut *conn).await {
                Ok(rows) => rows.iter().map(|r| r.text(0)).collect::<Result<Vec<_>, _>>(),
                Err(e) => Err(e),
            }
        }))
    })
}
