//! The memory store's change log specifics: the capacity prunes the oldest changes (watchers
//! behind them must resync), bulk loading is not logged, and a watcher is woken by a write.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use psm_rebac::{ChangeOp, Error, MemoryStore, Relationship, RelationshipUpdate, TupleStore};

fn touch(s: &str) -> RelationshipUpdate {
    RelationshipUpdate::touch(s.parse::<Relationship>().unwrap())
}

#[tokio::test]
async fn the_capacity_prunes_the_oldest_changes_and_behind_watchers_must_resync() {
    let store = MemoryStore::with_change_log_capacity(2);
    let r1 = store
        .write(&[touch("document:d#viewer@user:a")], &[])
        .await
        .unwrap();
    let r2 = store
        .write(&[touch("document:d#viewer@user:b")], &[])
        .await
        .unwrap();
    let r3 = store
        .write(&[touch("document:d#viewer@user:c")], &[])
        .await
        .unwrap();
    let err = store.changes_since(0, 10).await.unwrap_err();
    assert_eq!(
        err,
        Error::ChangesPruned {
            after: 0,
            horizon: r1
        }
    );
    let got = store.changes_since(r1, 10).await.unwrap();
    let revs: Vec<_> = got.iter().map(|c| (c.revision, c.op)).collect();
    assert_eq!(revs, [(r2, ChangeOp::Touch), (r3, ChangeOp::Touch)]);
}

#[tokio::test]
async fn a_capacity_of_zero_logs_nothing() {
    let store = MemoryStore::with_change_log_capacity(0);
    let r1 = store
        .write(&[touch("document:d#viewer@user:a")], &[])
        .await
        .unwrap();
    assert!(matches!(
        store.changes_since(0, 10).await,
        Err(Error::ChangesPruned { horizon, .. }) if horizon == r1
    ));
    assert_eq!(store.changes_since(r1, 10).await.unwrap(), []);
}

#[tokio::test]
async fn bulk_loading_is_not_logged_so_earlier_watchers_must_resync() {
    let store = MemoryStore::new();
    let r1 = store
        .write(&[touch("document:d#viewer@user:a")], &[])
        .await
        .unwrap();
    let r2 = store.extend(["document:d#viewer@user:b".parse::<Relationship>().unwrap()]);
    assert!(matches!(
        store.watch_next(r1, Duration::from_secs(30)).await,
        Err(Error::ChangesPruned { horizon, .. }) if horizon == r2
    ));
    assert_eq!(store.changes_since(r2, 10).await.unwrap(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_watcher_is_woken_by_a_write() {
    let store = MemoryStore::new();
    let watcher = {
        let store = store.clone();
        tokio::spawn(async move { store.watch_next(0, Duration::from_secs(60)).await })
    };
    // give the watcher a chance to be waiting (it also works if the write lands first)
    tokio::task::yield_now().await;
    let r1 = store
        .write(&[touch("document:d#viewer@user:a")], &[])
        .await
        .unwrap();
    let got = watcher.await.unwrap().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].revision, r1);
}

#[tokio::test]
async fn an_endless_wait_is_accepted() {
    let store = MemoryStore::new();
    let r1 = store
        .write(&[touch("document:d#viewer@user:a")], &[])
        .await
        .unwrap();
    // the deadline of `Duration::MAX` does not overflow; the answer is there at once
    let got = store.watch_next(0, Duration::MAX).await.unwrap();
    assert_eq!(got[0].revision, r1);
    let err = store.watch_next(r1 + 1, Duration::MAX).await.unwrap_err();
    assert!(matches!(err, Error::RevisionNotIssued { .. }), "{err:?}");
    let err = psm_rebac::store::watch::poll_changes(&store, r1 + 1, Duration::MAX)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RevisionNotIssued { .. }), "{err:?}");
}
