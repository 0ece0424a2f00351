//! The shared tuple-store suite of psm-rebac through a `MirrorStore` of each SQL store: two
//! mirrors of one set of tables as the two handles, polling once an hour, so every read across
//! handles relies on the mirror's consistency rules (and the SQL change log, revisions and bulk
//! behaviour it follows), never on the poll.

use std::sync::Arc;
use std::time::Duration;

use psm_rebac::{MirrorConfig, MirrorStore, TupleStore};

use super::common::{unique_prefix, with_options};
use super::rebac_kit::open;

async fn mirror(url: &str, name: &str) -> Arc<dyn TupleStore> {
    let origin = Arc::new(open(name, url).await);
    let m = MirrorStore::new(
        origin,
        MirrorConfig::default().with_poll(Duration::from_secs(3600)),
    )
    .unwrap();
    m.ready().await.unwrap();
    Arc::new(m)
}

#[cfg(feature = "sqlite")]
mod sqlite_file {
    use super::*;
    async fn store() -> Arc<dyn TupleStore> {
        mirror(&crate::common::sqlite_file_url(), "sqlite").await
    }
    async fn handles() -> [Arc<dyn TupleStore>; 2] {
        let url = crate::common::sqlite_file_url();
        [mirror(&url, "sqlite").await, mirror(&url, "sqlite").await]
    }
    psm_rebac::tuple_store_tests!(store, handles);
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    async fn url() -> String {
        let base = crate::common::pg_url();
        crate::common::drop_stale_tables(&base).await;
        with_options(&base, &format!("table_prefix={}", unique_prefix()))
    }
    async fn store() -> Arc<dyn TupleStore> {
        mirror(&url().await, "postgres").await
    }
    async fn handles() -> [Arc<dyn TupleStore>; 2] {
        let url = url().await;
        [
            mirror(&url, "postgres").await,
            mirror(&url, "postgres").await,
        ]
    }
    psm_rebac::tuple_store_tests!(store, handles);
}

#[cfg(feature = "mysql")]
mod mysql {
    use super::*;
    async fn url() -> String {
        let base = crate::common::mysql_url();
        crate::common::drop_stale_tables(&base).await;
        with_options(&base, &format!("table_prefix={}", unique_prefix()))
    }
    async fn store() -> Arc<dyn TupleStore> {
        mirror(&url().await, "mysql").await
    }
    async fn handles() -> [Arc<dyn TupleStore>; 2] {
        let url = url().await;
        [mirror(&url, "mysql").await, mirror(&url, "mysql").await]
    }
    psm_rebac::tuple_store_tests!(store, handles);
}
