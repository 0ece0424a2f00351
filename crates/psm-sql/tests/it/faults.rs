//! Faults: an exhausted pool times out within `acquire_timeout` instead of hanging; a statement
//! blocked past `statement_timeout` is a typed timeout. (The server restart is in `restart.rs`.)

use std::any::Any;
use std::future::Future;
use std::time::Duration;

use psm_core::{Error, NewSession, SessionStore};
use psm_sql::{SqlPool, SqlStore, sqlx};

use crate::per_database;

/// Fails the test if `f` hangs: every call must come back (with a value or a typed error).
pub async fn no_hang<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(15), f)
        .await
        .expect("the call hung instead of failing")
}

/// Takes a connection of the store's pool and keeps it until dropped.
async fn hold_connection(pool: SqlPool<'_>) -> Box<dyn Any + Send> {
    match pool {
        #[cfg(feature = "postgres")]
        SqlPool::Postgres(p) => Box::new(p.acquire().await.unwrap()),
        #[cfg(feature = "sqlite")]
        SqlPool::Sqlite(p) => Box::new(p.acquire().await.unwrap()),
        #[cfg(feature = "mysql")]
        SqlPool::MySql(p) => Box::new(p.acquire().await.unwrap()),
        _ => unreachable!("unknown pool"),
    }
}

async fn exhausted_pool_times_out(url: String) {
    let store = SqlStore::connect(&url).await.unwrap();
    store
        .store_session(NewSession::new("s1", "u1").permissions(["read"]))
        .await
        .unwrap();
    let held = hold_connection(store.pool()).await;
    let after = Duration::from_millis(300);
    let err = no_hang(store.check_permission("s1", "read"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Timeout { after: a, .. } if a == after),
        "check: {err:?}"
    );
    let err = no_hang(store.store_session(NewSession::new("s2", "u1")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Timeout { after: a, .. } if a == after),
        "store: {err:?}"
    );
    drop(held);
    assert!(store.check_permission("s1", "read").await.unwrap());
    store
        .store_session(NewSession::new("s2", "u1"))
        .await
        .unwrap();
    store.close().await.unwrap();
}

per_database!(
    exhausted_pool_times_out_instead_of_hanging,
    super::exhausted_pool_times_out,
    "&max_connections=1&check_connections=0&acquire_timeout=300ms"
);

/// Opens a transaction on one of the pool's connections that blocks writes to session `s1`.
#[cfg_attr(
    not(any(feature = "postgres", feature = "mysql")),
    allow(unused_variables)
)]
async fn block_writes(pool: SqlPool<'_>, table: &str) -> Box<dyn Any + Send> {
    match pool {
        #[cfg(feature = "postgres")]
        SqlPool::Postgres(p) => {
            let mut tx = p.begin().await.unwrap();
            sqlx::raw_sql(&format!(
                "SELECT * FROM \"{table}\" WHERE session_id = 's1' FOR UPDATE"
            ))
            .execute(&mut *tx)
            .await
            .unwrap();
            Box::new(tx)
        }
        #[cfg(feature = "sqlite")]
        SqlPool::Sqlite(p) => {
            let mut conn = p.acquire().await.unwrap();
            sqlx::raw_sql("BEGIN IMMEDIATE")
                .execute(&mut *conn)
                .await
                .unwrap();
            // a dropped connection with an open transaction must not go back to the pool
            conn.close_on_drop();
            Box::new(conn)
        }
        #[cfg(feature = "mysql")]
        SqlPool::MySql(p) => {
            let mut tx = p.begin().await.unwrap();
            sqlx::raw_sql(&format!(
                "SELECT * FROM `{table}` WHERE session_id = 's1' FOR UPDATE"
            ))
            .execute(&mut *tx)
            .await
            .unwrap();
            Box::new(tx)
        }
        _ => unreachable!("unknown pool"),
    }
}

async fn blocked_write_times_out(url: String) {
    let store = SqlStore::connect(&url).await.unwrap();
    store
        .store_session(NewSession::new("s1", "u1").permissions(["read"]))
        .await
        .unwrap();
    let blocker = block_writes(store.pool(), store.sessions_table()).await;
    let perms = vec!["write".to_owned()];
    let err = no_hang(store.update_permissions("s1", &perms, None))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    drop(blocker);
    let mut updated = false;
    for _ in 0..20 {
        match store.update_permissions("s1", &perms, None).await {
            Ok(done) => {
                updated = done;
                break;
            }
            Err(Error::Timeout { .. }) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(updated, "the write succeeds once the blocker is gone");
    assert!(store.check_permission("s1", "write").await.unwrap());
    store.close().await.unwrap();
}

per_database!(
    statement_timeout_turns_a_blocked_write_into_a_typed_timeout,
    super::blocked_write_times_out,
    "&statement_timeout=300ms"
);
