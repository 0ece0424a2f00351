//! Composing a ReBAC lookup with your own SQL: "the documents alice may view, not archived,
//! newest first" as ONE query joining the application's table to `lookup_resources_filter`,
//! built with sqlx's `QueryBuilder` (no list of ids is fetched first).
//!
//! ```text
//! cargo run -p psm-sql --features rebac,postgres,sqlite,mysql --example rebac_filter -- sqlite::memory:
//! cargo run -p psm-sql --features rebac,postgres --example rebac_filter -- postgres://postgres@127.0.0.1/test
//! ```
//! The same code runs in psm-sql's tests on SQLite, PostgreSQL and MySQL.

use std::error::Error;
use std::sync::Arc;

use psm_rebac::{Engine, Relationship, Schema, SubjectRef};
use psm_sql::SqlPool;
use psm_sql::rebac::SqlTupleStore;
use psm_sql::sqlx::{self, QueryBuilder};

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
    relation banned: user
    permission view = (viewer + parent->view) - banned
}
"#;

/// Creates the app table `table`, stores relationships, and returns `(id, title)` of the
/// documents alice may view that are not archived, ordered by id, in one query.
pub async fn demo(url: &str, table: &str) -> Result<Vec<(String, String)>, Box<dyn Error>> {
    let store = SqlTupleStore::connect(url).await?;
    let schema = Schema::parse_spicedb(SCHEMA)?;
    store.write_schema(SCHEMA).await?;
    let engine = Engine::new(schema.clone(), Arc::new(store.clone()));
    let rels: Vec<Relationship> = [
        "group:eng#member@user:alice",
        "group:all#member@group:eng#member",
        "folder:root#viewer@group:all#member",
        "folder:specs#parent@folder:root",
        "document:spec1#parent@folder:specs",
        "document:spec2#parent@folder:specs",
        "document:old#parent@folder:specs",
        "document:secret#parent@folder:specs",
        "document:secret#banned@user:alice",
        "document:memo#viewer@user:alice",
        "document:other#viewer@user:bob",
    ]
    .iter()
    .map(|s| s.parse())
    .collect::<Result<_, _>>()?;
    engine.touch(rels).await?;

    // The application's own table (identifiers are the app's, never user input).
    let docs = [
        ("spec1", "Spec one", false),
        ("spec2", "Spec two", false),
        ("old", "Old spec", true),
        ("secret", "Secret", false),
        ("memo", "Memo", false),
        ("other", "Bob's", false),
    ];
    let alice: SubjectRef = "user:alice".parse()?;
    let filter = store
        .lookup_resources_filter(&schema, "document", "view", &alice)
        .await?;

    macro_rules! run {
        ($db:ty, $pool:expr, $ddl:expr) => {{
            let pool = $pool;
            sqlx::query(&format!("DROP TABLE IF EXISTS {table}"))
                .execute(pool)
                .await?;
            sqlx::query(&$ddl).execute(pool).await?;
            let mut insert =
                QueryBuilder::<$db>::new(format!("INSERT INTO {table} (id, title, archived) "));
            insert.push_values(docs, |mut row, (id, title, archived)| {
                row.push_bind(id).push_bind(title).push_bind(archived);
            });
            insert.build().execute(pool).await?;

            let mut q = QueryBuilder::<$db>::new(format!(
                "SELECT d.id, d.title FROM {table} d WHERE d.archived = "
            ));
            q.push_bind(false);
            q.push(" AND ");
            filter.push_in(&mut q, "d.id");
            q.push(" ORDER BY d.id");
            let rows: Vec<(String, String)> = q.build_query_as().fetch_all(pool).await?;
            sqlx::query(&format!("DROP TABLE {table}"))
                .execute(pool)
                .await?;
            rows
        }};
    }
    let ddl = |id_type: &str| {
        format!(
            "CREATE TABLE {table} (id {id_type} NOT NULL PRIMARY KEY, title TEXT NOT NULL, \
             archived BOOLEAN NOT NULL)"
        )
    };
    let rows = match store.pool() {
        #[cfg(feature = "postgres")]
        SqlPool::Postgres(pool) => run!(sqlx::Postgres, pool, ddl("TEXT")),
        #[cfg(feature = "sqlite")]
        SqlPool::Sqlite(pool) => run!(sqlx::Sqlite, pool, ddl("TEXT")),
        #[cfg(feature = "mysql")]
        SqlPool::MySql(pool) => run!(sqlx::MySql, pool, ddl("VARCHAR(255)")),
        #[allow(unreachable_patterns)]
        _ => return Err("no database driver compiled in".into()),
    };
    store.close().await;
    Ok(rows)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite::memory:".to_owned());
    for (id, title) in demo(&url, "app_documents").await? {
        println!("{id}\t{title}");
    }
    Ok(())
}
