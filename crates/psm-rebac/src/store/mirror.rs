//! `MirrorStore`: an in-process replica of another tuple store (SQL, or any store with a change
//! log), kept in step through that store's change log, which offers the engine a synchronous
//! interned index (memory speed for check, check_bulk and lookup_resources) that says how
//! fresh it is.
//!
//! Reads, writes and everything else go to the mirrored store; only the engine's fast path
//! reads the replica, and only for requests whose [`Consistency`](crate::Consistency) the
//! replica meets: `MinimizeLatency` at any lag (at most one poll interval behind writes made
//! elsewhere; a write through this mirror is seen by every later request: the replica
//! catches up at once, and the store answers until it has),
//! `AtLeastAsFresh(r)` once the replica holds revision `r`, `FullyConsistent` when it holds the
//! store's head (one `revision` round trip). Other requests, and every request while the
//! replica loads or when the store holds more than [`MirrorConfig::max_relationships`], are
//! answered by the store itself (its planner, or `read`).
//!
//! ```
//! use std::sync::Arc;
//! use psm_rebac::{Engine, MemoryStore, MirrorConfig, MirrorStore, Schema, TupleStore};
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let origin: Arc<dyn TupleStore> = Arc::new(MemoryStore::new()); // a SQL store in practice
//! let mirror = Arc::new(MirrorStore::new(origin, MirrorConfig::default())?);
//! mirror.ready().await?; // optional: requests go to the origin until the replica is loaded
//! let schema = Schema::parse_spicedb("definition user {} definition doc { relation reader: user }")?;
//! let engine = Engine::new(schema, mirror.clone());
//! engine.touch(["doc:1#reader@user:ann".parse()?]).await?;
//! assert!(engine.check(&"doc:1".parse()?, "reader", &"user:ann".parse()?).await?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::RwLock;

use super::capability::{BulkImport, IndexSnapshot, InternedIndex, Planner};
use super::change::MAX_CHANGES;
use super::memory::MemoryStore;
use super::{Change, Revision, TupleStore};
use crate::error::{Error, Result};
use crate::filter::{Precondition, RelationshipFilter, RelationshipUpdate};
use crate::relationship::Relationship;

/// Settings of a [`MirrorStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MirrorConfig {
    /// How often the replica asks the store for changes made elsewhere (default 100 ms): the
    /// most a `MinimizeLatency` answer lags a write made through another handle or process.
    pub poll: Duration,
    /// The most relationships the replica holds (default 5,000,000: about 1.5 GB at 290 bytes
    /// a relationship, more while it loads): above it the mirror stays empty and every request
    /// goes to the store, so memory stays bounded.
    pub max_relationships: usize,
}

impl Default for MirrorConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(100),
            max_relationships: 5_000_000,
        }
    }
}

impl MirrorConfig {
    /// These settings with `poll` as the poll interval (at least 1 ms).
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll.max(Duration::from_millis(1));
        self
    }

    /// These settings with `max` as the replica's size bound.
    pub fn with_max_relationships(mut self, max: usize) -> Self {
        self.max_relationships = max;
        self
    }
}

/// Where a mirror's replica stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MirrorState {
    /// Loading: requests go to the store.
    Loading,
    /// Serving the engine's fast path; the replica holds this store revision at least.
    Ready(Revision),
    /// Not serving (the store holds more than the bound, or the last attempt failed; the
    /// mirror retries every poll interval): requests go to the store.
    Off(String),
}

/// An in-process replica of another tuple store, offered to the engine as an interned index
/// (see the [module docs](self)).
#[derive(Debug)]
pub struct MirrorStore {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    origin: Arc<dyn TupleStore>,
    config: MirrorConfig,
    /// The replica, once loaded (replaced whole on a reload).
    replica: RwLock<Option<Arc<MemoryStore>>>,
    /// The origin revision the replica holds at least.
    applied: AtomicU64,
    /// Whether the engine may read the replica (off while the store cannot be followed).
    serving: AtomicBool,
    /// The newest revision written through this mirror: until the replica holds it the
    /// engine asks the store (read your writes without waiting for a catch-up).
    written: AtomicU64,
    /// One catch-up or reload at a time.
    sync: tokio::sync::Mutex<()>,
    state: tokio::sync::watch::Sender<MirrorState>,
    /// No full read before this instant (after the store was found too big, or a load failed).
    next_load: parking_lot::Mutex<Option<tokio::time::Instant>>,
}

/// How long a mirror waits before reading the whole store again after it was too big or the
/// read failed.
const LOAD_RETRY: Duration = Duration::from_secs(30);

/// How long a write waits for another sync before leaving its catch-up to the poll.
const WRITE_SYNC_WAIT: Duration = Duration::from_millis(50);

impl MirrorStore {
    /// A mirror of `origin`: starts loading it in the background (call within a Tokio
    /// runtime; [`Error::Unsupported`] otherwise). Requests go to `origin` until the replica is
    /// loaded; [`ready`](Self::ready) waits for that.
    pub fn new(origin: Arc<dyn TupleStore>, config: MirrorConfig) -> Result<Self> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| Error::Unsupported {
            feature: "mirror",
            detail: "a MirrorStore is made inside a Tokio runtime (it polls in a task)".into(),
        })?;
        let shared = Arc::new(Shared {
            origin,
            config,
            replica: RwLock::new(None),
            applied: AtomicU64::new(0),
            serving: AtomicBool::new(false),
            written: AtomicU64::new(0),
            sync: tokio::sync::Mutex::new(()),
            state: tokio::sync::watch::Sender::new(MirrorState::Loading),
            next_load: parking_lot::Mutex::new(None),
        });
        let task = handle.spawn(follow(Arc::downgrade(&shared)));
        Ok(Self { shared, task })
    }

    /// The mirrored store.
    pub fn origin(&self) -> &Arc<dyn TupleStore> {
        &self.shared.origin
    }

    /// Where the replica stands now.
    pub fn state(&self) -> MirrorState {
        self.shared.state.borrow().clone()
    }

    /// Waits until the first load ended: `Ok` with the revision the replica holds, or the
    /// error that turned it off (requests are still answered, by the store).
    pub async fn ready(&self) -> Result<Revision> {
        let mut rx = self.shared.state.subscribe();
        let state = rx
            .wait_for(|s| !matches!(s, MirrorState::Loading))
            .await
            .map_err(|_| closed())?
            .clone();
        match state {
            MirrorState::Ready(r) => Ok(r),
            MirrorState::Off(why) => Err(Error::Unsupported {
                feature: "mirror",
                detail: why,
            }),
            MirrorState::Loading => Err(closed()),
        }
    }

    /// Brings the replica up to the store's head now (what the poll does), reloading it when
    /// the store's change log no longer reaches back to it.
    pub async fn sync(&self) -> Result<()> {
        self.shared.sync(None, true).await
    }
}

impl Drop for MirrorStore {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn closed() -> Error {
    Error::Unsupported {
        feature: "mirror",
        detail: "the mirror was dropped".into(),
    }
}

/// The background poll: load, then catch up every `poll`; ends when the mirror is dropped.
async fn follow(shared: Weak<Shared>) {
    loop {
        let Some(s) = shared.upgrade() else { return };
        let poll = s.config.poll;
        if let Err(e) = s.sync(None, true).await {
            // keep the replica for when the store answers again, but serve nothing from it
            s.serving.store(false, Ordering::Release);
            s.state
                .send_replace(MirrorState::Off(format!("cannot follow the store: {e}")));
        }
        drop(s);
        tokio::time::sleep(poll).await;
    }
}

impl Shared {
    /// Catches the replica up to the origin's head (or at least to `target`), loading it first
    /// when there is none and reloading it when the change log was pruned past it (with
    /// `reload`; otherwise the poll will).
    async fn sync(&self, target: Option<Revision>, reload: bool) -> Result<()> {
        let _one = self.sync.lock().await;
        self.sync_locked(target, reload).await
    }

    /// [`sync`](Self::sync) with the lock held.
    async fn sync_locked(&self, target: Option<Revision>, reload: bool) -> Result<()> {
        loop {
            let applied = self.applied.load(Ordering::Acquire);
            if target.is_some_and(|t| t <= applied) {
                return Ok(());
            }
            let Some(replica) = self.replica.read().clone() else {
                return if reload { self.load().await } else { Ok(()) };
            };
            let changes = match self.origin.changes_since(applied, MAX_CHANGES).await {
                Ok(c) => c,
                // pruned past us (or a bulk import, outside the log), or a store that was
                // reset: start again from a full read
                Err(Error::ChangesPruned { .. } | Error::RevisionNotIssued { .. }) => {
                    return if reload { self.load().await } else { Ok(()) };
                }
                Err(e) => return Err(e),
            };
            let Some(last) = changes.last().map(|c| c.revision) else {
                if target.is_some() && reload {
                    // a revision was issued that the log does not list: a bulk import
                    return self.load().await;
                }
                self.serve(applied);
                return Ok(());
            };
            replica.apply_changes(&changes);
            self.applied.store(last, Ordering::Release);
            self.serve(last);
            if target.is_none() && changes.len() < MAX_CHANGES {
                return Ok(());
            }
        }
    }

    /// Reads the whole origin into a new replica, catches it up privately, then publishes it.
    async fn load(&self) -> Result<()> {
        let now = tokio::time::Instant::now();
        if self.next_load.lock().is_some_and(|at| now < at) {
            return Ok(());
        }
        *self.next_load.lock() = Some(now + LOAD_RETRY);
        self.load_now().await?;
        *self.next_load.lock() = None;
        Ok(())
    }

    async fn load_now(&self) -> Result<()> {
        let head = self.origin.revision().await?;
        let max = self.config.max_relationships;
        let all = self
            .origin
            .read(&RelationshipFilter::default(), Some(max.saturating_add(1)))
            .await?;
        if all.len() > max {
            self.turn_off(format!(
                "the store holds more than {max} relationships (the mirror's max_relationships)"
            ));
            return Ok(());
        }
        let replica = MemoryStore::new();
        replica.extend(all);
        // The read saw the store at `head` or later: replaying the log from `head` passes the
        // private replica through mixed states and ends at the log's head, where it is
        // consistent; only then is it published.
        let mut at = head;
        loop {
            let changes = self.origin.changes_since(at, MAX_CHANGES).await?;
            let Some(last) = changes.last().map(|c| c.revision) else {
                break;
            };
            replica.apply_changes(&changes);
            at = last;
        }
        *self.replica.write() = Some(Arc::new(replica));
        self.applied.fetch_max(at, Ordering::AcqRel);
        self.serve(at);
        Ok(())
    }

    fn serve(&self, at: Revision) {
        self.serving.store(true, Ordering::Release);
        if *self.state.borrow() != MirrorState::Ready(at) {
            self.state.send_replace(MirrorState::Ready(at));
        }
    }

    fn turn_off(&self, why: String) {
        self.serving.store(false, Ordering::Release);
        *self.replica.write() = None;
        self.state.send_replace(MirrorState::Off(why));
    }
}

impl InternedIndex for MirrorStore {
    fn read(&self, f: &mut dyn FnMut(&dyn IndexSnapshot)) {
        let replica = self.shared.replica.read().clone();
        if let Some(r) = replica
            && let Some(ix) = r.interned_index()
        {
            ix.read(f);
        }
    }

    fn revision(&self) -> Option<Revision> {
        Some(self.shared.applied.load(Ordering::Acquire))
    }
}

#[async_trait]
impl TupleStore for MirrorStore {
    async fn write(
        &self,
        updates: &[RelationshipUpdate],
        preconditions: &[Precondition],
    ) -> Result<Revision> {
        let revision = self.shared.origin.write(updates, preconditions).await?;
        // read your writes at every consistency: the engine skips the replica until it holds
        // this revision; catch up now unless another sync (a reload) holds the lock
        self.shared.written.fetch_max(revision, Ordering::AcqRel);
        if self.shared.serving.load(Ordering::Acquire)
            && let Ok(one) = tokio::time::timeout(WRITE_SYNC_WAIT, self.shared.sync.lock()).await
        {
            let _ = self.shared.sync_locked(Some(revision), false).await;
            drop(one);
        }
        Ok(revision)
    }

    async fn read(
        &self,
        filter: &RelationshipFilter,
        limit: Option<usize>,
    ) -> Result<Vec<Relationship>> {
        self.shared.origin.read(filter, limit).await
    }

    async fn contains(&self, relationship: &Relationship) -> Result<bool> {
        self.shared.origin.contains(relationship).await
    }

    fn interned_index(&self) -> Option<&dyn InternedIndex> {
        let s = &self.shared;
        (s.serving.load(Ordering::Acquire)
            && s.applied.load(Ordering::Acquire) >= s.written.load(Ordering::Acquire))
        .then_some(self as _)
    }

    fn planner(&self) -> Option<&dyn Planner> {
        self.shared.origin.planner()
    }

    fn bulk_import(&self) -> Option<&dyn BulkImport> {
        self.shared.origin.bulk_import()
    }

    async fn revision(&self) -> Result<Revision> {
        self.shared.origin.revision().await
    }

    async fn changes_since(&self, after: Revision, limit: usize) -> Result<Vec<Change>> {
        self.shared.origin.changes_since(after, limit).await
    }

    async fn watch_next(&self, after: Revision, wait: Duration) -> Result<Vec<Change>> {
        self.shared.origin.watch_next(after, wait).await
    }

    async fn prune_changes(&self, through: Revision) -> Result<u64> {
        self.shared.origin.prune_changes(through).await
    }
}
