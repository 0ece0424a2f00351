//! SQL tuple store specifics on every database: caveats and expirations survive a round trip,
//! expired relationships are invisible, the schema text persists, bulk loading, the change
//! log's revision order, URL options, and values that look like SQL staying values.

use psm_rebac::{
    Error, Relationship, RelationshipFilter, RelationshipUpdate, SubjectRef, TupleStore,
};
use psm_sql::rebac::SqlTupleStore;

use crate::per_database;

fn rel(s: &str) -> Relationship {
    s.parse().unwrap()
}

async fn all(store: &SqlTupleStore) -> Vec<String> {
    let mut v: Vec<String> = store
        .read(&RelationshipFilter::default(), None)
        .await
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    v.sort();
    v
}

async fn caveats_and_expirations_round_trip(url: String) {
    let store = SqlTupleStore::connect(&url).await.unwrap();
    let caveated = rel(r#"document:d#viewer@user:alice[only_on:{"day":"mon"}]"#);
    let bare_caveat = rel("document:d#viewer@user:bob[trusted]");
    let expiring = rel("document:d#viewer@user:carol[expiration:2999-01-01T00:00:00Z]");
    let updates: Vec<_> = [&caveated, &bare_caveat, &expiring]
        .into_iter()
        .cloned()
        .map(RelationshipUpdate::touch)
        .collect();
    store.write(&updates, &[]).await.unwrap();
    let got = store
        .read(&RelationshipFilter::resource("document", "d", None), None)
        .await
        .unwrap();
    for want in [&caveated, &bare_caveat, &expiring] {
        assert!(got.contains(want), "{want} missing from {got:?}");
    }
    // touching replaces caveat and expiration; contains ignores them
    store
        .write(
            &[RelationshipUpdate::touch(rel(
                "document:d#viewer@user:alice",
            ))],
            &[],
        )
        .await
        .unwrap();
    assert!(
        all(&store)
            .await
            .contains(&"document:d#viewer@user:alice".to_owned())
    );
    assert!(store.contains(&caveated).await.unwrap());
    store.close().await;
}

async fn expired_relationships_are_invisible(url: String) {
    let store = SqlTupleStore::connect(&url).await.unwrap();
    let expired = rel("document:d#viewer@user:old[expiration:2000-01-01T00:00:00Z]");
    let live = rel("document:d#viewer@user:new[expiration:2999-01-01T00:00:00Z]");
    store
        .write(
            &[
                RelationshipUpdate::touch(expired.clone()),
                RelationshipUpdate::touch(live.clone()),
            ],
            &[],
        )
        .await
        .unwrap();
    assert!(!store.contains(&expired).await.unwrap());
    assert!(store.contains(&live).await.unwrap());
    assert_eq!(all(&store).await, [live.to_string()]);
    let by_subject = store
        .read(
            &RelationshipFilter::subject(&"user:old".parse::<SubjectRef>().unwrap()),
            None,
        )
        .await
        .unwrap();
    assert!(by_subject.is_empty());
    // an expired relationship does not block a create
    store
        .write(&[RelationshipUpdate::create(expired.key())], &[])
        .await
        .unwrap();
    assert!(store.contains(&expired).await.unwrap());
    let err = store
        .write(&[RelationshipUpdate::create(live.key())], &[])
        .await;
    assert!(matches!(err, Err(Error::AlreadyExists { .. })), "{err:?}");
    // A relationship with a bad expiration cannot be built, so none reaches the store.
    let bad = "document:d#viewer@user:x[expiration:tomorrow]".parse::<Relationship>();
    assert!(
        bad.as_ref()
            .is_err_and(|e| e.to_string().contains("RFC 3339")),
        "{bad:?}"
    );
    store.close().await;
}

async fn schema_text_persists_across_connections(url: String) {
    let store = SqlTupleStore::connect(&url).await.unwrap();
    assert_eq!(store.read_schema().await.unwrap(), None);
    store.write_schema("definition user {}").await.unwrap();
    let schema = "definition user {}\n// ünïcode 'quotes' \"and\" ; DROP TABLE x;\ndefinition doc { relation r: user }";
    store.write_schema(schema).await.unwrap();
    store.close().await;
    let again = SqlTupleStore::connect(&url).await.unwrap();
    assert_eq!(again.read_schema().await.unwrap().as_deref(), Some(schema));
    again.close().await;
}

async fn bulk_load_inserts_new_rows_and_keeps_existing(url: String) {
    let store = SqlTupleStore::connect(&url).await.unwrap();
    let before = store.revision().await.unwrap();
    store
        .write(
            &[RelationshipUpdate::touch(rel(
                "document:d0#viewer@user:u0[c]",
            ))],
            &[],
        )
        .await
        .unwrap();
    let rels = (0..1203).map(|i| rel(&format!("document:d{}#viewer@user:u{i}", i % 7)));
    let after = store.bulk_load(rels, 600).await.unwrap();
    assert!(after > before);
    assert_eq!(all(&store).await.len(), 1203);
    assert!(
        all(&store)
            .await
            .contains(&"document:d0#viewer@user:u0[c]".to_owned()),
        "an existing relationship is kept unchanged"
    );
    store.close().await;
}

async fn bulk_import_touches_and_the_last_duplicate_wins(url: String) {
    let store = SqlTupleStore::connect(&url).await.unwrap();
    store
        .write(
            &[RelationshipUpdate::touch(rel(
                "document:d0#viewer@user:u0[c]",
            ))],
            &[],
        )
        .await
        .unwrap();
    let before = store.revision().await.unwrap();
    let bulk = store
        .bulk_import()
        .expect("the SQL store offers a bulk import");
    let mut rels: Vec<Relationship> = (0..1203)
        .map(|i| rel(&format!("document:d{}#viewer@user:u{i}", i % 7)))
        .collect();
    rels.push(rel("document:d1#viewer@user:u1[first]"));
    rels.push(rel("document:d1#viewer@user:u1[second]"));
    let after = bulk.import(&rels).await.unwrap();
    bulk.finish().await.unwrap();
    assert!(after > before);
    assert_eq!(store.revision().await.unwrap(), after);
    let stored = all(&store).await;
    assert_eq!(stored.len(), 1203);
    assert!(
        stored.contains(&"document:d0#viewer@user:u0".to_owned()),
        "an existing relationship is touched: its caveat replaced"
    );
    assert!(
        stored.contains(&"document:d1#viewer@user:u1[second]".to_owned()),
        "the last of duplicates wins: {:?}",
        stored
            .iter()
            .filter(|s| s.contains("u1"))
            .collect::<Vec<_>>()
    );
    assert!(matches!(
        store.changes_since(before, 100).await,
        Err(Error::ChangesPruned { horizon, .. }) if horizon == after
    ));
    store.close().await;
}

async fn sql_looking_values_stay_values(url: String) {
    let store = SqlTupleStore::connect(&url).await.unwrap();
    let mut r = rel("document:d#viewer@user:x");
    r.resource.object_id = "x'; DROP TABLE psm_rebac_tuples; --".into();
    r.subject.object.object_id = "\") OR 1=1 --".into();
    store
        .write(&[RelationshipUpdate::touch(r.clone())], &[])
        .await
        .unwrap();
    assert!(store.contains(&r).await.unwrap());
    assert_eq!(all(&store).await, [r.to_string()]);
    let mut long = rel("document:d#viewer@user:x");
    long.resource.object_id = "a".repeat(1025).into();
    let err = store
        .write(&[RelationshipUpdate::touch(long)], &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }), "{err:?}");
    store.close().await;
}

async fn change_log_orders_writes_and_watch_sees_new_ones(url: String) {
    use psm_sql::rebac::ChangeOp;
    use std::time::Duration;
    let store = SqlTupleStore::connect(&url).await.unwrap();
    let a = rel("document:d#viewer@user:a");
    let r1 = store
        .write(
            &[
                RelationshipUpdate::touch(a.clone()),
                RelationshipUpdate::touch(rel("document:d#owner@user:b[c]")),
            ],
            &[],
        )
        .await
        .unwrap();
    let r2 = store
        .write(
            &[
                RelationshipUpdate::delete(a.clone()),
                RelationshipUpdate::delete(rel("document:zz#viewer@user:none")),
            ],
            &[],
        )
        .await
        .unwrap();
    let all = store.changes_since(0, 100).await.unwrap();
    let seen: Vec<(u64, ChangeOp, String)> = all
        .iter()
        .map(|c| (c.revision, c.op, c.relationship.to_string()))
        .collect();
    assert_eq!(
        seen,
        [
            (r1, ChangeOp::Touch, a.to_string()),
            (r1, ChangeOp::Touch, "document:d#owner@user:b[c]".to_owned()),
            (r2, ChangeOp::Delete, a.to_string()),
        ],
        "a delete of a missing relationship is not a change"
    );
    assert_eq!(store.changes_since(r2, 100).await.unwrap(), []);
    // a watcher polling after r2 sees the next write, and only it
    let watcher = {
        let store = store.clone();
        tokio::spawn(async move { store.watch_next(r2, Duration::from_secs(10)).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r3 = store
        .write(&[RelationshipUpdate::touch(a.clone())], &[])
        .await
        .unwrap();
    let got = watcher.await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].revision, got[0].op), (r3, ChangeOp::Touch));
    assert_eq!(store.prune_changes(r2).await.unwrap(), 3);
    assert_eq!(store.changes_since(r2, 100).await.unwrap().len(), 1);
    assert!(matches!(
        store.changes_since(0, 100).await,
        Err(Error::ChangesPruned { after: 0, horizon }) if horizon == r2
    ));
    store.close().await;
}

async fn unlogged_resets_and_bulk_loads_make_earlier_watchers_resync(url: String) {
    let store = SqlTupleStore::connect(&url).await.unwrap();
    let r1 = store
        .write(
            &[RelationshipUpdate::touch(rel("document:d#viewer@user:a"))],
            &[],
        )
        .await
        .unwrap();
    let r2 = store
        .bulk_load([rel("document:d#viewer@user:b")], 1000)
        .await
        .unwrap();
    assert!(r2 > r1);
    assert!(matches!(
        store.changes_since(r1, 100).await,
        Err(Error::ChangesPruned { horizon, .. }) if horizon == r2
    ));
    assert_eq!(store.changes_since(r2, 100).await.unwrap(), []);
    store.delete_all().await.unwrap();
    let r3 = TupleStore::revision(&store).await.unwrap();
    assert!(r3 > r2);
    assert!(matches!(
        store.changes_since(r2, 100).await,
        Err(Error::ChangesPruned { horizon, .. }) if horizon == r3
    ));
    // writes after the reset are logged again
    let r4 = store
        .write(
            &[RelationshipUpdate::touch(rel("document:d#viewer@user:c"))],
            &[],
        )
        .await
        .unwrap();
    let got = store.changes_since(r3, 100).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].revision, r4);
    store.close().await;
}

per_database!(
    change_log,
    crate::rebac_store::change_log_orders_writes_and_watch_sees_new_ones
);
per_database!(
    unlogged_changes_move_the_horizon,
    crate::rebac_store::unlogged_resets_and_bulk_loads_make_earlier_watchers_resync
);
per_database!(
    caveats_and_expirations,
    crate::rebac_store::caveats_and_expirations_round_trip
);
per_database!(
    expired_invisible,
    crate::rebac_store::expired_relationships_are_invisible
);
per_database!(
    schema_text,
    crate::rebac_store::schema_text_persists_across_connections
);
per_database!(
    bulk_load,
    crate::rebac_store::bulk_load_inserts_new_rows_and_keeps_existing
);
per_database!(
    bulk_import,
    crate::rebac_store::bulk_import_touches_and_the_last_duplicate_wins
);
per_database!(
    sql_values,
    crate::rebac_store::sql_looking_values_stay_values
);

#[tokio::test]
async fn bad_urls_and_options_are_refused() {
    for url in [
        "sqlite::memory:?table_prefix=bad-prefix",
        "sqlite::memory:?typo=1",
        "nosuch://x",
    ] {
        assert!(SqlTupleStore::connect(url).await.is_err(), "{url}");
    }
    let store = SqlTupleStore::connect("sqlite::memory:?table_prefix=app_")
        .await
        .unwrap();
    assert_eq!(store.tuples_table(), "app_rebac_tuples");
    store.close().await;
    assert!(
        store.read_schema().await.is_err(),
        "a closed store refuses calls"
    );
}
