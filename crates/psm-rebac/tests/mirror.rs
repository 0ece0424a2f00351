//! `MirrorStore`: the shared tuple-store suite through a mirror of a memory store (two mirrors
//! of one store as the two handles, polling once an hour, so every cross-handle read depends on
//! the consistency rules and not on the poll), and what only a mirror does: answering from its
//! replica, lagging at `MinimizeLatency` until it syncs, reloading when the log was pruned,
//! staying off above its size bound, stopping its task when dropped.
#![cfg(all(feature = "testkit", feature = "mirror"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use psm_rebac::testkit::cases::{obj, rel, sub};
use psm_rebac::{
    Change, Consistency, Engine, MemoryStore, MirrorConfig, MirrorState, MirrorStore, Precondition,
    Relationship, RelationshipFilter, RelationshipUpdate, Revision, Schema, TupleStore,
};

const HOUR: Duration = Duration::from_secs(3600);

async fn mirror_of(origin: Arc<dyn TupleStore>, config: MirrorConfig) -> Arc<MirrorStore> {
    let m = MirrorStore::new(origin, config).unwrap();
    m.ready().await.unwrap();
    Arc::new(m)
}

async fn store() -> Arc<dyn TupleStore> {
    mirror_of(
        Arc::new(MemoryStore::new()),
        MirrorConfig::default().with_poll(HOUR),
    )
    .await
}

async fn handles() -> [Arc<dyn TupleStore>; 2] {
    let origin: Arc<dyn TupleStore> = Arc::new(MemoryStore::new());
    let config = MirrorConfig::default().with_poll(HOUR);
    [
        mirror_of(origin.clone(), config).await,
        mirror_of(origin, config).await,
    ]
}

psm_rebac::tuple_store_tests!(store, handles);

/// A memory store that counts the calls the engine's slow path makes.
#[derive(Debug, Default)]
struct Counting {
    inner: MemoryStore,
    reads: AtomicUsize,
    revisions: AtomicUsize,
}

#[async_trait]
impl TupleStore for Counting {
    async fn write(
        &self,
        updates: &[RelationshipUpdate],
        preconditions: &[Precondition],
    ) -> psm_rebac::Result<Revision> {
        self.inner.write(updates, preconditions).await
    }
    async fn read(
        &self,
        filter: &RelationshipFilter,
        limit: Option<usize>,
    ) -> psm_rebac::Result<Vec<Relationship>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read(filter, limit).await
    }
    async fn revision(&self) -> psm_rebac::Result<Revision> {
        self.revisions.fetch_add(1, Ordering::SeqCst);
        self.inner.revision().await
    }
    async fn changes_since(&self, after: Revision, limit: usize) -> psm_rebac::Result<Vec<Change>> {
        self.inner.changes_since(after, limit).await
    }
}

const SCHEMA: &str = "definition user {}
definition group { relation member: user | group#member }
definition doc { relation reader: user | group#member  permission view = reader }";

fn touch(s: &str) -> RelationshipUpdate {
    RelationshipUpdate::touch(rel(s))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_come_from_the_replica_and_lag_only_where_the_consistency_allows() {
    let origin = Arc::new(Counting::default());
    origin
        .write(
            &[
                touch("doc:a#reader@group:g#member"),
                touch("group:g#member@user:ann"),
            ],
            &[],
        )
        .await
        .unwrap();
    let mirror = mirror_of(origin.clone(), MirrorConfig::default().with_poll(HOUR)).await;
    assert!(matches!(mirror.state(), MirrorState::Ready(1)));
    let engine = Engine::new(Schema::parse_spicedb(SCHEMA).unwrap(), mirror.clone());
    let (doc, ann, bob) = (obj("doc:a"), sub("user:ann"), sub("user:bob"));
    let reads = origin.reads.load(Ordering::SeqCst);
    assert!(engine.check(&doc, "view", &ann).await.unwrap());
    assert!(!engine.check(&doc, "view", &bob).await.unwrap());
    assert_eq!(
        engine.lookup_resources("doc", "view", &ann).await.unwrap(),
        ["a"]
    );
    assert_eq!(
        origin.reads.load(Ordering::SeqCst),
        reads,
        "checks and lookups were answered by the replica"
    );

    // a write elsewhere (not through the mirror): the replica lags until it syncs
    let rev = origin
        .write(&[touch("group:g#member@user:bob")], &[])
        .await
        .unwrap();
    assert!(
        !engine.check(&doc, "view", &bob).await.unwrap(),
        "minimize_latency may answer from the lagging replica"
    );
    let fresh = engine.with_consistency(Consistency::at_least_as_fresh(rev));
    assert!(fresh.check(&doc, "view", &bob).await.unwrap());
    let full = engine.with_consistency(Consistency::fully_consistent());
    assert!(full.check(&doc, "view", &bob).await.unwrap());
    assert!(
        origin.reads.load(Ordering::SeqCst) > reads,
        "the lagging replica was bypassed"
    );

    mirror.sync().await.unwrap();
    assert!(engine.check(&doc, "view", &bob).await.unwrap());
    let (reads, revisions) = (
        origin.reads.load(Ordering::SeqCst),
        origin.revisions.load(Ordering::SeqCst),
    );
    assert!(full.check(&doc, "view", &bob).await.unwrap());
    assert_eq!(origin.reads.load(Ordering::SeqCst), reads);
    assert_eq!(
        origin.revisions.load(Ordering::SeqCst),
        revisions + 1,
        "fully_consistent costs one revision round trip on an up-to-date replica"
    );

    // a write through the mirror is in the replica before `write` returns
    engine.touch([rel("doc:b#reader@user:bob")]).await.unwrap();
    assert!(engine.check(&obj("doc:b"), "view", &bob).await.unwrap());
    assert_eq!(origin.reads.load(Ordering::SeqCst), reads);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_behind_the_pruned_log_reloads() {
    let origin = Arc::new(MemoryStore::with_change_log_capacity(2));
    origin
        .write(&[touch("doc:a#reader@user:ann")], &[])
        .await
        .unwrap();
    let mirror = mirror_of(origin.clone(), MirrorConfig::default().with_poll(HOUR)).await;
    for i in 0..5 {
        origin
            .write(&[touch(&format!("doc:d{i}#reader@user:ann"))], &[])
            .await
            .unwrap();
    }
    origin
        .write(
            &[RelationshipUpdate::delete(rel("doc:a#reader@user:ann"))],
            &[],
        )
        .await
        .unwrap();
    mirror.sync().await.unwrap();
    assert_eq!(mirror.state(), MirrorState::Ready(7));
    let engine = Engine::new(Schema::parse_spicedb(SCHEMA).unwrap(), mirror);
    let ann = sub("user:ann");
    assert_eq!(
        engine.lookup_resources("doc", "view", &ann).await.unwrap(),
        ["d0", "d1", "d2", "d3", "d4"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn above_its_bound_the_mirror_stays_off_and_the_store_answers() {
    let origin = Arc::new(Counting::default());
    for i in 0..3 {
        origin
            .write(&[touch(&format!("doc:d{i}#reader@user:ann"))], &[])
            .await
            .unwrap();
    }
    let mirror = MirrorStore::new(
        origin.clone(),
        MirrorConfig::default()
            .with_poll(HOUR)
            .with_max_relationships(2),
    )
    .unwrap();
    let err = mirror.ready().await.unwrap_err();
    assert!(err.to_string().contains("more than 2"), "{err}");
    assert!(matches!(mirror.state(), MirrorState::Off(_)));
    let engine = Engine::new(Schema::parse_spicedb(SCHEMA).unwrap(), Arc::new(mirror));
    let reads = origin.reads.load(Ordering::SeqCst);
    assert!(
        engine
            .check(&obj("doc:d2"), "view", &sub("user:ann"))
            .await
            .unwrap()
    );
    assert!(origin.reads.load(Ordering::SeqCst) > reads);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poll_follows_writes_made_elsewhere_and_ends_with_the_mirror() {
    let origin: Arc<dyn TupleStore> = Arc::new(MemoryStore::new());
    let mirror = mirror_of(
        origin.clone(),
        MirrorConfig::default().with_poll(Duration::from_millis(5)),
    )
    .await;
    let rev = origin
        .write(&[touch("doc:a#reader@user:ann")], &[])
        .await
        .unwrap();
    // bounded: the poll runs every 5 ms
    let mut caught_up = false;
    for _ in 0..2000 {
        if mirror.state() == MirrorState::Ready(rev) {
            caught_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(caught_up, "the poll never applied revision {rev}");
    drop(mirror);
    let mut released = false;
    for _ in 0..2000 {
        if Arc::strong_count(&origin) == 1 {
            released = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(released, "the mirror's task still holds the store");
}

#[test]
fn a_mirror_needs_a_tokio_runtime() {
    let err = MirrorStore::new(Arc::new(MemoryStore::new()), MirrorConfig::default()).unwrap_err();
    assert!(err.to_string().contains("Tokio runtime"), "{err}");
}
