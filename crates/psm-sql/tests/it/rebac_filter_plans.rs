//! Plan properties of lookup filters that the result tests cannot see: on SQLite (the bundled
//! version) each member of a CTE probes the reverse index even under the statistics of a large
//! table (SQLite 3.46 otherwise scanned every relationship of the subject type and built an
//! automatic index on the CTE: seconds at 1M relationships); on PostgreSQL the ids come out
//! in the default collation, so an index on the caller's (default-collation) column is usable.

use psm_rebac::{Schema, SubjectRef};
use psm_sql::SqlPool;
use psm_sql::rebac::SqlTupleStore;

const SCHEMA: &str = r#"
definition user {}
definition group { relation member: user | group#member }
definition folder {
    relation parent: folder
    relation viewer: user | group#member
    permission view = viewer + parent->view
}
definition document {
    relation parent: folder
    relation viewer: user | group#member
    permission view = viewer + parent->view
}
"#;

const RELATIONSHIPS: [&str; 4] = [
    "group:g#member@user:alice",
    "folder:f1#viewer@group:g#member",
    "folder:f2#parent@folder:f1",
    "document:d1#parent@folder:f2",
];

async fn loaded(url: &str) -> SqlTupleStore {
    let store = SqlTupleStore::connect(url).await.unwrap();
    store.delete_all().await.unwrap();
    store
        .bulk_load(RELATIONSHIPS.iter().map(|r| r.parse().unwrap()), 100)
        .await
        .unwrap();
    store
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_filter_probes_the_reverse_index_under_large_table_stats() {
    use sqlx::Connection;
    let file = crate::common::sqlite_file_url();
    let url = crate::common::with_options(
        &file,
        &format!("table_prefix={}", crate::common::unique_prefix()),
    );
    let store = loaded(&url).await;
    let table = store.tuples_table().to_owned();
    store.close().await;
    // the statistics ANALYZE writes at 1M relationships (the rebac_sql bench's data)
    let mut conn = sqlx::SqliteConnection::connect(&file).await.unwrap();
    sqlx::query(&format!("ANALYZE {table}"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("DELETE FROM sqlite_stat1 WHERE tbl = ?")
        .bind(&table)
        .execute(&mut conn)
        .await
        .unwrap();
    // samples of the four-row table, when the bundled SQLite keeps them, would mislead
    let _ = sqlx::query("DELETE FROM sqlite_stat4 WHERE tbl = ?")
        .bind(&table)
        .execute(&mut conn)
        .await;
    for (idx, stat) in [
        (format!("{table}_rev"), "999931 333311 17 17 9 9 1"),
        (table.clone(), "999931 333311 9 5 5 5 1"),
    ] {
        sqlx::query("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)")
            .bind(&table)
            .bind(idx)
            .bind(stat)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();

    let store = SqlTupleStore::connect(&url).await.unwrap();
    let schema = Schema::parse_spicedb(SCHEMA).unwrap();
    let alice: SubjectRef = "user:alice".parse().unwrap();
    let filter = store
        .lookup_resources_filter(&schema, "document", "view", &alice)
        .await
        .unwrap();
    let SqlPool::Sqlite(pool) = store.pool() else {
        panic!("not SQLite");
    };
    let sql = format!("EXPLAIN QUERY PLAN {}", filter.sql());
    let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&sql);
    for b in filter.binds() {
        q = match b {
            psm_sql::rebac::SqlValue::Text(s) => q.bind(s.to_string()),
            psm_sql::rebac::SqlValue::Int(i) => q.bind(*i),
            other => panic!("unexpected bind {other:?}"),
        };
    }
    let plan: Vec<String> = q
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.3)
        .collect();
    let text = plan.join("\n");
    assert!(!text.contains("AUTOMATIC"), "automatic index in:\n{text}");
    for line in plan.iter().filter(|l| l.starts_with("SEARCH x")) {
        assert!(
            line.contains("subject_id=?") || line.contains("resource_id=?"),
            "a relationship search without an id:\n{text}"
        );
    }
    assert_eq!(
        store
            .lookup_resources_sql(&schema, "document", "view", &alice)
            .await
            .unwrap(),
        ["d1"]
    );
    store.close().await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_filter_ids_are_in_the_default_collation() {
    let Some(url) = crate::common::pg_store_url("").await else {
        return;
    };
    let store = loaded(&url).await;
    let schema = Schema::parse_spicedb(SCHEMA).unwrap();
    let alice: SubjectRef = "user:alice".parse().unwrap();
    let filter = store
        .lookup_resources_filter(&schema, "document", "view", &alice)
        .await
        .unwrap();
    let SqlPool::Postgres(pool) = store.pool() else {
        panic!("not PostgreSQL");
    };
    let mut q =
        sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT pg_collation_for(f.id), f.id FROM (");
    filter.push_subquery(&mut q);
    q.push(") f");
    let rows: Vec<(Option<String>, String)> = q.build_query_as().fetch_all(pool).await.unwrap();
    assert_eq!(rows, [(Some("\"default\"".to_owned()), "d1".to_owned())]);
    store.close().await;
}
