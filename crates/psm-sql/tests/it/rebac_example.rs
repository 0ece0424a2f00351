//! The `rebac_filter` example (an app table joined to `lookup_resources_filter` with sqlx's
//! `QueryBuilder`) run on every database.

#[allow(dead_code)]
#[path = "../../examples/rebac_filter.rs"]
mod example;

use crate::per_database;

async fn example_joins_the_filter_to_an_app_table(url: String) {
    let table = format!("{}app_documents", crate::common::unique_prefix());
    let rows = example::demo(&url, &table).await.unwrap();
    let ids: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    // spec1/spec2 through nested groups and folder parents, memo directly; old is archived,
    // secret is banned, other is bob's
    assert_eq!(ids, ["memo", "spec1", "spec2"]);
    assert_eq!(rows[0].1, "Memo");
}

per_database!(
    filter_example,
    crate::rebac_example::example_joins_the_filter_to_an_app_table
);
