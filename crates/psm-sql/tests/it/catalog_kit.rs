//! The shared assignment-store suite of psm-catalog on every compiled-in database, each test on
//! tables of its own, plus an undeclared grant leaving the tables empty and hostile ids.

use psm_catalog::{AssignmentStore, Assignments};

use crate::per_database;
use psm_sql::catalog::SqlAssignments;

async fn open(name: &str, url: String) -> SqlAssignments {
    match SqlAssignments::connect(&url).await {
        Ok(store) => store,
        Err(e) => panic!("{name} assignments at {url} could not be opened: {e}"),
    }
}

#[cfg(feature = "sqlite")]
mod on_sqlite {
    async fn store() -> Option<psm_sql::catalog::SqlAssignments> {
        Some(super::open("sqlite", crate::common::sqlite_store_url("")).await)
    }
    psm_catalog::assignment_store_tests!(store);
}

#[cfg(feature = "postgres")]
mod on_postgres {
    async fn store() -> Option<psm_sql::catalog::SqlAssignments> {
        Some(super::open("postgres", crate::common::pg_store_url("").await?).await)
    }
    psm_catalog::assignment_store_tests!(store);
}

#[cfg(feature = "mysql")]
mod on_mysql {
    async fn store() -> Option<psm_sql::catalog::SqlAssignments> {
        Some(super::open("mysql", crate::common::mysql_store_url("").await?).await)
    }
    psm_catalog::assignment_store_tests!(store);
}

/// Ids that look like SQL, quotes, NUL-free control-free Unicode and trailing spaces are data.
pub async fn hostile_ids_are_data(url: String) {
    let store = open("sql", url).await;
    let gate = Assignments::new(psm_catalog::testkit::readme_catalog(), store.clone());
    let hostile = [
        "'; DROP TABLE psm_catalog_members; --",
        "a\"b",
        "trailing ",
        "Trailing",
    ];
    for id in hostile {
        gate.assign_user(id, "test.sub2").await.unwrap();
        gate.add_member(id, id).await.unwrap();
        gate.assign_group(id, "test1").await.unwrap();
    }
    for id in hostile {
        assert_eq!(
            store.effective_grants(id).await.unwrap(),
            ["test.sub2", "test1"]
        );
    }
    assert!(store.effective_grants("trailing").await.unwrap().is_empty());
    store.close().await;
}

crate::per_database!(
    catalog_hostile_ids,
    crate::catalog_kit::hostile_ids_are_data
);
