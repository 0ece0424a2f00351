//! The consistency and watch cases of the tuple-store suite. Each takes two handles onto one
//! fresh, empty store (for the memory store two clones; for SQL two connections to the same
//! tables), so a write through one must be seen through the other.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::cases::{SCHEMA, obj, rel, sub};
use crate::engine::{CheckItem, Engine};
use crate::error::Error;
use crate::filter::{RelationshipFilter, RelationshipUpdate};
use crate::schema::Schema;
use crate::store::{Change, ChangeOp, Consistency, Revision, TupleStore};

/// Long enough never to run out in a healthy test: only a missing wake-up would reach it.
const LONG_WAIT: Duration = Duration::from_secs(30);

fn seen(changes: &[Change]) -> Vec<(Revision, ChangeOp, String)> {
    changes
        .iter()
        .map(|c| (c.revision, c.op, c.relationship.to_string()))
        .collect()
}

async fn touch(store: &dyn TupleStore, rels: &[&str]) -> Revision {
    let updates: Vec<_> = rels
        .iter()
        .map(|r| RelationshipUpdate::touch(rel(r)))
        .collect();
    store.write(&updates, &[]).await.unwrap()
}

pub async fn writes_return_increasing_revisions_and_the_head_follows(
    a: Arc<dyn TupleStore>,
    b: Arc<dyn TupleStore>,
) {
    let r0 = a.revision().await.unwrap();
    let r1 = touch(&*a, &["document:d#viewer@user:a"]).await;
    let r2 = touch(&*b, &["document:d#viewer@user:b"]).await;
    let r3 = a
        .write(
            &[RelationshipUpdate::delete(rel("document:d#viewer@user:a"))],
            &[],
        )
        .await
        .unwrap();
    assert!(r0 < r1 && r1 < r2 && r2 < r3, "{r0} {r1} {r2} {r3}");
    assert_eq!(a.revision().await.unwrap(), r3);
    assert_eq!(b.revision().await.unwrap(), r3);
}

pub async fn changes_since_list_exactly_the_later_writes_in_order(
    a: Arc<dyn TupleStore>,
    _b: Arc<dyn TupleStore>,
) {
    let r0 = a.revision().await.unwrap();
    let x = "document:d#viewer@user:x";
    let caveated = r#"document:d#owner@user:y[only_on:{"day":"mon"}]"#;
    let r1 = touch(&*a, &[x, caveated]).await;
    let r2 = a
        .write(
            &[
                RelationshipUpdate::delete(rel(x)),
                RelationshipUpdate::delete(rel("document:zz#viewer@user:none")),
                RelationshipUpdate::create(rel("folder:f#viewer@group:eng#member")),
            ],
            &[],
        )
        .await
        .unwrap();
    let r3 = touch(&*a, &[x]).await;
    let all = a.changes_since(r0, 100).await.unwrap();
    assert_eq!(
        seen(&all),
        [
            (r1, ChangeOp::Touch, x.to_owned()),
            (r1, ChangeOp::Touch, rel(caveated).to_string()),
            (r2, ChangeOp::Delete, x.to_owned()),
            (
                r2,
                ChangeOp::Touch,
                "folder:f#viewer@group:eng#member".to_owned()
            ),
            (r3, ChangeOp::Touch, x.to_owned()),
        ],
        "a delete of a missing relationship is not a change; a create is a touch"
    );
    assert_eq!(
        seen(&a.changes_since(r1, 100).await.unwrap()),
        seen(&all[2..])
    );
    assert_eq!(a.changes_since(r3, 100).await.unwrap(), []);
    // a limit never splits a write: 3 stops after the first write, 1 still returns it whole
    assert_eq!(
        seen(&a.changes_since(r0, 3).await.unwrap()),
        seen(&all[..2])
    );
    assert_eq!(
        seen(&a.changes_since(r0, 1).await.unwrap()),
        seen(&all[..2])
    );
    assert_eq!(
        seen(&a.changes_since(r1, 1).await.unwrap()),
        seen(&all[2..4])
    );
}

pub async fn a_watcher_wakes_on_a_write_from_another_handle(
    a: Arc<dyn TupleStore>,
    b: Arc<dyn TupleStore>,
) {
    let head = touch(&*a, &["document:d#viewer@user:a"]).await;
    // nothing new: the wait runs out and the answer is empty
    assert_eq!(
        a.watch_next(head, Duration::from_millis(30)).await.unwrap(),
        []
    );
    let watcher = {
        let a = a.clone();
        tokio::spawn(async move { a.watch_next(head, LONG_WAIT).await })
    };
    tokio::task::yield_now().await;
    let r = touch(&*b, &["document:d#viewer@user:b"]).await;
    let got = watcher.await.unwrap().unwrap();
    assert_eq!(
        seen(&got),
        [(r, ChangeOp::Touch, "document:d#viewer@user:b".to_owned())]
    );
    // the stream form yields every later change in order, across writes
    let mut stream = Box::pin(crate::store::watch::watch(a.clone(), r));
    let r4 = touch(
        &*b,
        &["document:d#viewer@user:c", "document:d#viewer@user:d"],
    )
    .await;
    let r5 = b
        .write(
            &[RelationshipUpdate::delete(rel("document:d#viewer@user:c"))],
            &[],
        )
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(stream.next().await.unwrap().unwrap());
    }
    assert_eq!(
        seen(&got),
        [
            (r4, ChangeOp::Touch, "document:d#viewer@user:c".to_owned()),
            (r4, ChangeOp::Touch, "document:d#viewer@user:d".to_owned()),
            (r5, ChangeOp::Delete, "document:d#viewer@user:c".to_owned()),
        ]
    );
}

pub async fn a_watcher_behind_the_pruned_horizon_must_resync(
    a: Arc<dyn TupleStore>,
    b: Arc<dyn TupleStore>,
) {
    let r0 = a.revision().await.unwrap();
    let r1 = touch(&*a, &["document:d#viewer@user:a"]).await;
    let r2 = touch(&*a, &["document:d#viewer@user:b"]).await;
    let r3 = touch(&*a, &["document:d#viewer@user:c"]).await;
    assert_eq!(b.prune_changes(r2).await.unwrap(), 2);
    for after in [r0, r1] {
        let err = a.changes_since(after, 100).await.unwrap_err();
        assert!(
            matches!(err, Error::ChangesPruned { after: x, horizon } if x == after && horizon == r2),
            "{err:?}"
        );
        let err = a.watch_next(after, LONG_WAIT).await.unwrap_err();
        assert!(matches!(err, Error::ChangesPruned { .. }), "{err:?}");
    }
    // a stream from behind the horizon yields the error once, then ends
    let mut stream = Box::pin(crate::store::watch::watch(a.clone(), r1));
    assert!(matches!(
        stream.next().await,
        Some(Err(Error::ChangesPruned { .. }))
    ));
    assert!(stream.next().await.is_none());
    // from the horizon on, nothing is missing
    let got = a.changes_since(r2, 100).await.unwrap();
    assert_eq!(
        seen(&got),
        [(r3, ChangeOp::Touch, "document:d#viewer@user:c".to_owned())]
    );
}

pub async fn at_least_as_fresh_a_revision_never_issued_is_an_error(
    a: Arc<dyn TupleStore>,
    _b: Arc<dyn TupleStore>,
) {
    let engine = Engine::new(Schema::parse_spicedb(SCHEMA).unwrap(), a.clone());
    let head = engine
        .touch([rel("document:d#viewer@user:alice")])
        .await
        .unwrap();
    let (d, alice) = (obj("document:d"), sub("user:alice"));
    let fresh = engine.with_consistency(Consistency::at_least_as_fresh(head));
    assert!(fresh.check(&d, "view", &alice).await.unwrap());
    let future = head + 1;
    let scope = engine.with_consistency(Consistency::AtLeastAsFresh(future));
    let is_not_issued = |e: Error| {
        assert!(
            matches!(e, Error::RevisionNotIssued { requested, head: h } if requested == future && h == head),
            "{e:?}"
        );
    };
    is_not_issued(scope.check(&d, "view", &alice).await.unwrap_err());
    let item = CheckItem {
        resource: d.clone(),
        permission: "view".into(),
        subject: alice.clone(),
    };
    is_not_issued(scope.check_bulk(&[item]).await.unwrap_err());
    is_not_issued(
        scope
            .lookup_resources("document", "view", &alice)
            .await
            .unwrap_err(),
    );
    is_not_issued(
        scope
            .lookup_subjects(&d, "view", "user", None)
            .await
            .unwrap_err(),
    );
    is_not_issued(scope.expand(&d, "view").await.unwrap_err());
    is_not_issued(
        scope
            .read(&RelationshipFilter::default(), None)
            .await
            .unwrap_err(),
    );
    is_not_issued(a.changes_since(future, 10).await.unwrap_err());
    is_not_issued(a.watch_next(future, LONG_WAIT).await.unwrap_err());
}

pub async fn fully_consistent_reads_see_a_write_from_another_handle(
    a: Arc<dyn TupleStore>,
    b: Arc<dyn TupleStore>,
) {
    let schema = Schema::parse_spicedb(SCHEMA).unwrap();
    let reader = Engine::new(schema.clone(), a);
    let writer = Engine::new(schema, b);
    let (d, alice) = (obj("document:d"), sub("user:alice"));
    let full = reader.with_consistency(Consistency::fully_consistent());
    assert!(!full.check(&d, "view", &alice).await.unwrap());
    let rev = writer
        .touch([rel("document:d#viewer@user:alice")])
        .await
        .unwrap();
    assert!(full.check(&d, "view", &alice).await.unwrap());
    assert_eq!(
        full.lookup_resources("document", "view", &alice)
            .await
            .unwrap(),
        ["d"]
    );
    let fresh = reader.with_consistency(Consistency::at_least_as_fresh(rev));
    assert!(fresh.check(&d, "view", &alice).await.unwrap());
    assert_eq!(reader.revision().await.unwrap(), rev);
}
