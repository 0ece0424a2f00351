//! The shared backend suite on PostgreSQL, with tables of their own per store (unique prefix).

use psm_core::testkit::Subject;

use super::common::{drop_stale_tables, kit_store, pg_url, unique_prefix, with_options};

async fn store() -> Subject {
    let base = pg_url();
    drop_stale_tables(&base).await;
    let url = with_options(&base, &format!("table_prefix={}", unique_prefix()));
    kit_store("postgres", &url).await
}

psm_core::session_store_tests!(store);
