//! `FileStore`: the `SessionStore` implementation. Reads answer from the cache (after a cheap,
//! debounced look at the journal); writes go through the group commit.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use psm_core::permission::ParsedPermission;
use psm_core::valid::{SessionId, Ttl, UserId, ValidSession};
use psm_core::{
    Capabilities, Error, Health, Limits, PermissionSet, Result, Session, SessionBackend,
    StoreStats, StoreUrl, Timestamp, is_expired,
};

use crate::blocking;
use crate::config::FileConfig;
use crate::fsio::BACKEND;
use crate::plan::{Op, Outcome};
use crate::record::Entry;
use crate::state::{Disk, Shared};

/// A durable session store in a directory; see the crate docs for the layout and guarantees.
///
/// Cheap to clone: clones share one cache, one commit queue and one lock file.
#[derive(Clone)]
pub struct FileStore {
    shared: Arc<Shared>,
}

impl fmt::Debug for FileStore {
    // never the sessions themselves: they can be many, and their metadata private
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.shared.layout.root())
            .field("sessions", &self.shared.cache.read().len())
            .field("closed", &self.shared.closed.load(Ordering::Relaxed))
            .finish()
    }
}

fn unexpected() -> Error {
    Error::Backend {
        backend: BACKEND,
        message: "unexpected answer from the commit worker".to_owned(),
        source: None,
    }
}

impl FileStore {
    /// Opens (creating if allowed) the store described by `config`.
    pub async fn open(config: FileConfig) -> Result<Self> {
        let shared = blocking::run(move || Shared::open_blocking(config)).await?;
        let store = FileStore {
            shared: Arc::new(shared),
        };
        store.start_cleanup();
        Ok(store)
    }

    /// Opens the store of a `file:///abs/dir` or `file:rel/dir` URL (options in the crate docs).
    pub async fn from_url(url: StoreUrl) -> Result<Self> {
        Self::open(FileConfig::from_url(url)?).await
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        self.shared.layout.root()
    }

    /// The path of the record file of `session_id` (which need not exist). The name is a hash.
    pub fn record_path(&self, session_id: &str) -> Result<PathBuf> {
        let id = SessionId::parse(session_id)?;
        Ok(self.shared.layout.record(&id))
    }

    fn start_cleanup(&self) {
        let Some(every) = self.shared.config.cleanup_interval else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak = Arc::downgrade(&self.shared);
        handle.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(shared) = weak.upgrade() else { break };
                if shared.closed.load(Ordering::Acquire) {
                    break;
                }
                if let Err(e) = shared
                    .submit(Op::Cleanup {
                        now: shared.config.clock.now(),
                    })
                    .await
                {
                    tracing::warn!(error = %e, "psm-file: background cleanup failed");
                }
            }
        });
    }

    /// Brings the cache up to date with other processes' writes, at most once per `refresh`.
    #[inline]
    async fn refresh(&self, now: Timestamp) -> Result<()> {
        let due = self.shared.next_refresh.load(Ordering::Relaxed);
        if now.as_millis() < due {
            return Ok(());
        }
        self.refresh_slow(now, due).await
    }

    async fn refresh_slow(&self, now: Timestamp, due: u64) -> Result<()> {
        let every = u64::try_from(self.shared.config.refresh.as_millis()).unwrap_or(u64::MAX);
        if every > 0 {
            let next = now.as_millis().saturating_add(every);
            if self
                .shared
                .next_refresh
                .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
            {
                return Ok(()); // another call is refreshing for this interval
            }
        }
        let disk = Arc::clone(&self.shared.disk).lock_owned().await;
        if !disk.journal.changed()? {
            return Ok(());
        }
        let shared = Arc::clone(&self.shared);
        blocking::run(move || {
            let mut disk = disk;
            let Disk { lock, journal, .. } = &mut *disk;
            let _guard = lock.shared()?;
            shared.catch_up(journal)
        })
        .await
    }

    async fn write_flag(&self, op: Op) -> Result<bool> {
        match self.shared.submit(op).await? {
            Outcome::Done(flag) => Ok(flag),
            _ => Err(unexpected()),
        }
    }
}

impl SessionBackend for FileStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(true, true, false, false)
    }

    fn limits(&self) -> &Limits {
        &self.shared.config.limits
    }

    #[inline]
    fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    #[inline]
    fn now(&self) -> Timestamp {
        self.shared.config.clock.now()
    }

    async fn store_session(&self, session: ValidSession) -> Result<Session> {
        let session = session.into_parts();
        let now = self.now();
        let entry = Entry {
            user_id: session.user_id.into_boxed_str(),
            perms: session.grants,
            created_at: now,
            updated_at: now,
            expires_at: session.expiry.resolve(now, self.shared.config.default_ttl),
            metadata: session.metadata,
            bytes: 0,
        };
        let op = Op::Store {
            id: session.session_id,
            entry,
        };
        match self.shared.submit(op).await? {
            Outcome::Stored(s) => Ok(s),
            _ => Err(unexpected()),
        }
    }

    async fn check_permission(
        &self,
        session_id: SessionId<'_>,
        permission: ParsedPermission<'_>,
    ) -> Result<bool> {
        let now = self.now();
        self.refresh(now).await?;
        let cache = self.shared.cache.read();
        if let Some(entry) = cache.live(&session_id, now) {
            return Ok(entry.perms.check_parsed(permission));
        }
        cache.ensure_not_corrupt(&session_id)?;
        Ok(false)
    }

    #[inline]
    fn checks_without_io(&self) -> bool {
        true
    }

    /// From the in-memory image, whose ids were all validated (written through the layer or
    /// decoded from records that are validated on load): the candidate is only hashed and
    /// compared with them. `None` when it is time to look for other processes' writes.
    #[inline]
    fn check_held_now(&self, candidate: &str, permission: ParsedPermission<'_>) -> Option<bool> {
        let now = self.now();
        if now.as_millis() >= self.shared.next_refresh.load(Ordering::Relaxed) {
            return None;
        }
        let cache = self.shared.cache.read();
        cache
            .live(candidate, now)
            .map(|entry| entry.perms.check_parsed(permission))
    }

    /// As `check_held_now`, with the exact grants compared before the permission is parsed.
    #[inline]
    fn check_held_unparsed_now(&self, candidate: &str, permission: &str) -> Option<Result<bool>> {
        let now = self.now();
        if now.as_millis() >= self.shared.next_refresh.load(Ordering::Relaxed) {
            return None;
        }
        let cache = self.shared.cache.read();
        cache
            .live(candidate, now)
            .map(|entry| entry.perms.check_unparsed(permission).map_err(Error::from))
    }

    /// From the in-memory image, unless it is time to look for other processes' writes (then
    /// `None`: the async check refreshes first).
    #[inline]
    fn check_permission_now(
        &self,
        session_id: SessionId<'_>,
        permission: ParsedPermission<'_>,
    ) -> Option<Result<bool>> {
        let now = self.now();
        if now.as_millis() >= self.shared.next_refresh.load(Ordering::Relaxed) {
            return None;
        }
        let cache = self.shared.cache.read();
        if let Some(entry) = cache.live(&session_id, now) {
            return Some(Ok(entry.perms.check_parsed(permission)));
        }
        Some(cache.ensure_not_corrupt(&session_id).map(|()| false))
    }

    async fn check_permissions(
        &self,
        session_id: SessionId<'_>,
        permissions: &[ParsedPermission<'_>],
    ) -> Result<Vec<bool>> {
        let now = self.now();
        self.refresh(now).await?;
        let cache = self.shared.cache.read();
        let Some(entry) = cache.live(&session_id, now) else {
            cache.ensure_not_corrupt(&session_id)?;
            return Ok(vec![false; permissions.len()]);
        };
        Ok(permissions
            .iter()
            .map(|p| entry.perms.check_parsed(*p))
            .collect())
    }

    async fn get_session(&self, session_id: SessionId<'_>) -> Result<Option<Session>> {
        let now = self.now();
        self.refresh(now).await?;
        let cache = self.shared.cache.read();
        match cache.live(&session_id, now) {
            Some(entry) => Ok(Some(entry.to_session(&session_id))),
            None => {
                cache.ensure_not_corrupt(&session_id)?;
                Ok(None)
            }
        }
    }

    async fn update_permissions(
        &self,
        session_id: SessionId<'_>,
        grants: PermissionSet,
        ttl: Option<Ttl>,
    ) -> Result<bool> {
        self.write_flag(Op::Update {
            id: session_id.as_str().to_owned(),
            perms: grants,
            ttl: ttl.map(Ttl::get),
            now: self.now(),
        })
        .await
    }

    async fn extend_session_ttl(&self, session_id: SessionId<'_>, ttl: Ttl) -> Result<bool> {
        self.write_flag(Op::Extend {
            id: session_id.as_str().to_owned(),
            ttl: ttl.get(),
            now: self.now(),
        })
        .await
    }

    async fn list_sessions(&self, user_id: UserId<'_>) -> Result<Vec<String>> {
        let now = self.now();
        self.refresh(now).await?;
        let cache = self.shared.cache.read();
        Ok(cache
            .user_sessions(&user_id)
            .filter(|id| cache.live(id, now).is_some())
            .map(str::to_owned)
            .collect())
    }

    async fn invalidate_session(&self, session_id: SessionId<'_>) -> Result<bool> {
        self.write_flag(Op::Invalidate {
            id: session_id.as_str().to_owned(),
            now: self.now(),
        })
        .await
    }

    async fn cleanup_expired_sessions(&self) -> Result<u64> {
        match self.shared.submit(Op::Cleanup { now: self.now() }).await? {
            Outcome::Removed(n) => Ok(n),
            _ => Err(unexpected()),
        }
    }

    async fn count_sessions(&self) -> Result<u64> {
        let now = self.now();
        self.refresh(now).await?;
        let cache = self.shared.cache.read();
        Ok(cache
            .iter()
            .filter(|(_, e)| !is_expired(e.expires_at, now))
            .count() as u64)
    }

    async fn stats(&self) -> Result<StoreStats> {
        let now = self.now();
        self.refresh(now).await?;
        let journal_bytes = {
            let disk = self.shared.disk.lock().await;
            disk.journal.len()
        };
        let cache = self.shared.cache.read();
        let live = cache
            .iter()
            .filter(|(_, e)| !is_expired(e.expires_at, now))
            .count() as u64;
        let mut stats = StoreStats::new(BACKEND);
        stats.live_sessions = live;
        stats.expired_pending = cache.len() as u64 - live;
        stats.users = Some(cache.live_users(now));
        stats.corrupt_records = cache.corrupt_count();
        stats.approx_bytes = Some(cache.bytes());
        let c = &self.shared.counters;
        for (name, value) in [
            ("commits", c.commits.load(Ordering::Relaxed)),
            ("ops_committed", c.ops.load(Ordering::Relaxed)),
            ("fsyncs", c.fsyncs.load(Ordering::Relaxed)),
            ("rescans", c.rescans.load(Ordering::Relaxed)),
            ("records_reloaded", c.reloads.load(Ordering::Relaxed)),
            (
                "stale_temps_removed",
                c.stale_temps_removed.load(Ordering::Relaxed),
            ),
            ("journal_bytes", journal_bytes),
        ] {
            stats.extra.insert(name.to_owned(), value);
        }
        Ok(stats)
    }

    async fn health_check(&self) -> Health {
        let started = Instant::now();
        let dir = self.shared.layout.shard_for_stem("0");
        let probe = blocking::run(move || {
            std::fs::read_dir(&dir)
                .map(|_| ())
                .map_err(|e| crate::fsio::io_error("read directory", &dir, e))
        })
        .await;
        match probe {
            Ok(()) => Health::healthy(BACKEND, started.elapsed()),
            Err(e) => Health::unhealthy(BACKEND, started.elapsed(), e.to_string()),
        }
    }

    async fn close(&self) -> Result<()> {
        self.shared.closed.store(true, Ordering::Release);
        // wait for a commit in progress; queued writes were accepted before the close
        let _disk = self.shared.disk.lock().await;
        Ok(())
    }
}
