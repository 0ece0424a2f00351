//! Migrations: recorded once in `{prefix}migrations`, idempotent on reconnect, safe when many
//! stores start at once, skipped with `migrate=false`; pool options from the URL take effect.

use psm_core::{Error, NewSession, SessionStore};
use psm_sql::{SqlPool, SqlStore, sqlx};

use crate::per_database;

/// The versions recorded in the store's migrations table.
async fn recorded_versions(store: &SqlStore) -> Vec<i64> {
    let table = format!("{}migrations", store.table_prefix());
    let mut versions: Vec<i64> = match store.pool() {
        #[cfg(feature = "postgres")]
        SqlPool::Postgres(p) => sqlx::query_scalar(&format!("SELECT version FROM \"{table}\""))
            .fetch_all(p)
            .await
            .unwrap(),
        #[cfg(feature = "sqlite")]
        SqlPool::Sqlite(p) => sqlx::query_scalar(&format!("SELECT version FROM \"{table}\""))
            .fetch_all(p)
            .await
            .unwrap(),
        #[cfg(feature = "mysql")]
        SqlPool::MySql(p) => sqlx::query_scalar(&format!("SELECT version FROM `{table}`"))
            .fetch_all(p)
            .await
            .unwrap(),
        _ => unreachable!("unknown pool"),
    };
    versions.sort_unstable();
    versions
}

async fn concurrent_starts_migrate_once(url: String) {
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move { SqlStore::connect(&url).await }));
    }
    let mut stores = Vec::new();
    for t in tasks {
        stores.push(t.await.unwrap().expect("every concurrent start succeeds"));
    }
    assert_eq!(recorded_versions(&stores[0]).await, vec![1]);
    stores[0]
        .store_session(
            NewSession::new("kept", "u")
                .permissions(["read"])
                .no_expiry(),
        )
        .await
        .unwrap();
    for s in &stores {
        s.close().await.unwrap();
    }
    // a later start finds the schema current, changes nothing and keeps the data
    let again = SqlStore::connect(&url).await.unwrap();
    again.run_migrations().await.unwrap();
    assert_eq!(recorded_versions(&again).await, vec![1]);
    assert!(again.check_permission("kept", "read").await.unwrap());
    again.close().await.unwrap();
}

per_database!(
    concurrent_starts_migrate_once_and_reconnects_keep_data,
    super::concurrent_starts_migrate_once
);

async fn migrate_false_leaves_the_schema_alone(url: String) {
    let store = SqlStore::connect(&format!("{url}&migrate=false"))
        .await
        .unwrap();
    let err = store
        .store_session(NewSession::new("s", "u"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Backend { .. }),
        "no table yet: {err:?}"
    );
    store.run_migrations().await.unwrap();
    store
        .store_session(NewSession::new("s", "u"))
        .await
        .unwrap();
    assert_eq!(recorded_versions(&store).await, vec![1]);
    store.close().await.unwrap();
}

per_database!(
    migrate_false_skips_migrations_until_asked,
    super::migrate_false_leaves_the_schema_alone,
    "&cleanup_batch=10"
);

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn pool_options_from_the_url_take_effect() {
    let url = crate::common::sqlite_store_url(
        "max_connections=3&min_connections=1&acquire_timeout=2s&idle_timeout=0",
    );
    let store = SqlStore::connect(&url).await.unwrap();
    let SqlPool::Sqlite(pool) = store.pool() else {
        panic!("a sqlite URL gives a sqlite pool")
    };
    assert_eq!(pool.options().get_max_connections(), 3);
    assert_eq!(pool.options().get_min_connections(), 1);
    assert_eq!(
        pool.options().get_acquire_timeout(),
        std::time::Duration::from_secs(2)
    );
    assert_eq!(pool.options().get_idle_timeout(), None);
    assert!(
        !pool.options().get_test_before_acquire(),
        "no acquire ping by default"
    );
    store.close().await.unwrap();
    assert!(matches!(
        SqlStore::connect("sqlite::memory:?max_connections=0").await,
        Err(Error::InvalidUrl { .. })
    ));
    assert!(matches!(
        SqlStore::connect("sqlite::memory:?no_such_option=1").await,
        Err(Error::InvalidUrl { .. })
    ));
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn default_ttl_and_max_permissions_options_apply() {
    let store = SqlStore::connect("sqlite::memory:?default_ttl=0&max_permissions=2")
        .await
        .unwrap();
    let s = store
        .store_session(NewSession::new("s", "u").permissions(["a", "b"]))
        .await
        .unwrap();
    assert_eq!(s.expires_at, None, "default_ttl=0 means no expiry");
    let err = store
        .store_session(NewSession::new("s", "u").permissions(["a", "b", "c"]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    store.close().await.unwrap();
}
