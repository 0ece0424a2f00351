//! The shared tuple-store suite of psm-rebac (the same cases and model equivalence the memory
//! store passes) on SQLite (memory and file), PostgreSQL and MySQL/MariaDB, each store with
//! tables of its own. The consistency and watch cases get two handles onto one store: two
//! connections (pools) to the same tables, except for `sqlite::memory:`, whose database lives
//! in one pool (two clones of the store there).

use std::sync::Arc;

use psm_rebac::TupleStore;
use psm_sql::rebac::SqlTupleStore;

use super::common::{unique_prefix, with_options};

/// Opens a store; the server must answer (a kit factory cannot skip), so a missing server
/// fails the test whether or not `PSM_REQUIRE_SERVICES` is set.
pub async fn open(name: &str, url: &str) -> SqlTupleStore {
    match SqlTupleStore::connect(url).await {
        Ok(store) => store,
        Err(e) => panic!(
            "{name} tuple store at {url} could not be opened: {e} (start the server or set PSM_TEST_{}_URL)",
            name.to_uppercase()
        ),
    }
}

#[cfg(feature = "sqlite")]
mod sqlite_memory {
    use super::*;
    async fn store() -> Arc<dyn TupleStore> {
        Arc::new(open("sqlite", "sqlite::memory:").await)
    }
    async fn handles() -> [Arc<dyn TupleStore>; 2] {
        let store = open("sqlite", "sqlite::memory:").await;
        [Arc::new(store.clone()), Arc::new(store)]
    }
    psm_rebac::tuple_store_tests!(store, handles);
}

#[cfg(feature = "sqlite")]
mod sqlite_file {
    use super::*;
    async fn store() -> Arc<dyn TupleStore> {
        Arc::new(open("sqlite", &crate::common::sqlite_file_url()).await)
    }
    async fn handles() -> [Arc<dyn TupleStore>; 2] {
        let url = crate::common::sqlite_file_url();
        [
            Arc::new(open("sqlite", &url).await),
            Arc::new(open("sqlite", &url).await),
        ]
    }
    psm_rebac::tuple_store_tests!(store, handles);
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    async fn store() -> Arc<dyn TupleStore> {
        let base = crate::common::pg_url();
        crate::common::drop_stale_tables(&base).await;
        let url = with_options(&base, &format!("table_prefix={}", unique_prefix()));
        Arc::new(open("postgres", &url).await)
    }
    async fn handles() -> [Arc<dyn TupleStore>; 2] {
        let base = crate::common::pg_url();
        crate::common::drop_stale_tables(&base).await;
        let url = with_options(&base, &format!("table_prefix={}", unique_prefix()));
        [
            Arc::new(open("postgres", &url).await),
            Arc::new(open("postgres", &url).await),
        ]
    }
    psm_rebac::tuple_store_tests!(store, handles);
}

#[cfg(feature = "mysql")]
mod mysql {
    use super::*;
    async fn store() -> Arc<dyn TupleStore> {
        let base = crate::common::mysql_url();
        crate::common::drop_stale_tables(&base).await;
        let url = with_options(&base, &format!("table_prefix={}", unique_prefix()));
        Arc::new(open("mysql", &url).await)
    }
    async fn handles() -> [Arc<dyn TupleStore>; 2] {
        let base = crate::common::mysql_url();
        crate::common::drop_stale_tables(&base).await;
        let url = with_options(&base, &format!("table_prefix={}", unique_prefix()));
        [
            Arc::new(open("mysql", &url).await),
            Arc::new(open("mysql", &url).await),
        ]
    }
    psm_rebac::tuple_store_tests!(store, handles);
}
