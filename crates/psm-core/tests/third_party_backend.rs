//! A complete third-party session backend over a `Mutex<HashMap>`, run against psm-core's shared
//! behaviour suite. The guide's chapter "Writing a third-party backend" shows this very file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // the suite's asserts

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use psm_core::permission::ParsedPermission;
use psm_core::valid::{SessionId, Ttl, UserId, ValidSession};
use psm_core::{
    Capabilities, Clock, DEFAULT_TTL, Health, Limits, ManualClock, PermissionSet, Result, Session,
    SessionBackend, SessionStore, StoreStats, Timestamp,
};

/// Sessions in a map, each beside its compiled permissions. Expired sessions stay in the map
/// until `cleanup_expired_sessions`, but no method ever sees them.
#[derive(Debug)]
pub struct MapStore {
    sessions: Mutex<HashMap<String, (Session, PermissionSet)>>,
    clock: Arc<dyn Clock>,
    limits: Limits,
    closed: AtomicBool,
}

impl MapStore {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        MapStore {
            sessions: Mutex::default(),
            clock,
            limits: Limits::default(),
            closed: AtomicBool::new(false),
        }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, (Session, PermissionSet)>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the live session `id` (with the time, read once); `None` when there is none.
    fn with_live<T>(
        &self,
        id: SessionId<'_>,
        f: impl FnOnce(&mut (Session, PermissionSet), Timestamp) -> T,
    ) -> Option<T> {
        let now = self.clock.now();
        let mut map = self.map();
        let live = map
            .get_mut(id.as_str())
            .filter(|(s, _)| !s.is_expired_at(now))?;
        Some(f(live, now))
    }

    fn live_count(&self) -> u64 {
        let now = self.clock.now();
        self.map()
            .values()
            .filter(|(s, _)| !s.is_expired_at(now))
            .count() as u64
    }
}

/// Every argument arrives validated and the store is known to be open: psm-core's layer makes
/// `MapStore` a `SessionStore` that validates input, rejects calls after `close`, and traces.
impl SessionBackend for MapStore {
    fn backend(&self) -> &'static str {
        "map"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::default() // not persistent, not shared
    }
    fn limits(&self) -> &Limits {
        &self.limits
    }
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    async fn store_session(&self, session: ValidSession) -> Result<Session> {
        let now = self.clock.now();
        let parts = session.into_parts();
        let expires_at = parts.expiry.resolve(now, Some(DEFAULT_TTL));
        let grants = parts.grants.clone();
        let session = parts.into_session(now, expires_at);
        let copy = (session.clone(), grants);
        self.map().insert(session.session_id.clone(), copy);
        Ok(session)
    }

    async fn check_permissions(
        &self,
        id: SessionId<'_>,
        wanted: &[ParsedPermission<'_>],
    ) -> Result<Vec<bool>> {
        let answers = self.with_live(id, |(_, grants), _| {
            wanted.iter().map(|p| grants.check_parsed(*p)).collect()
        });
        Ok(answers.unwrap_or_else(|| vec![false; wanted.len()]))
    }

    async fn get_session(&self, id: SessionId<'_>) -> Result<Option<Session>> {
        Ok(self.with_live(id, |(session, _), _| session.clone()))
    }

    async fn update_permissions(
        &self,
        id: SessionId<'_>,
        grants: PermissionSet,
        ttl: Option<Ttl>,
    ) -> Result<bool> {
        let updated = self.with_live(id, |(session, compiled), now| {
            session.permissions = grants.to_vec();
            session.updated_at = now;
            if let Some(ttl) = ttl {
                session.expires_at = Some(ttl.after(now)); // `None` keeps the remaining TTL
            }
            *compiled = grants;
        });
        Ok(updated.is_some())
    }

    async fn extend_session_ttl(&self, id: SessionId<'_>, ttl: Ttl) -> Result<bool> {
        let extended = self.with_live(id, |(session, _), now| {
            session.expires_at = Some(ttl.after(now));
        });
        Ok(extended.is_some())
    }

    async fn list_sessions(&self, user: UserId<'_>) -> Result<Vec<String>> {
        let now = self.clock.now();
        let mut ids: Vec<String> = (self.map().values())
            .filter(|(s, _)| s.user_id == user.as_str() && !s.is_expired_at(now))
            .map(|(s, _)| s.session_id.clone())
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn invalidate_session(&self, id: SessionId<'_>) -> Result<bool> {
        let now = self.clock.now();
        let removed = self.map().remove(id.as_str());
        Ok(removed.is_some_and(|(s, _)| !s.is_expired_at(now)))
    }

    async fn cleanup_expired_sessions(&self) -> Result<u64> {
        let now = self.clock.now();
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, (s, _)| !s.is_expired_at(now));
        Ok((before - map.len()) as u64)
    }

    async fn count_sessions(&self) -> Result<u64> {
        Ok(self.live_count())
    }

    async fn stats(&self) -> Result<StoreStats> {
        let mut stats = StoreStats::new("map");
        stats.live_sessions = self.live_count();
        Ok(stats)
    }

    async fn health_check(&self) -> Health {
        Health::healthy("map", Duration::ZERO)
    }

    async fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        Ok(())
    }
}

/// A fresh store for each case of the suite, on a manual clock: the expiry cases advance it
/// instead of sleeping.
async fn store() -> psm_core::testkit::Subject {
    let clock = Arc::new(ManualClock::starting_now());
    let store: Arc<dyn SessionStore> = Arc::new(MapStore::new(clock.clone()));
    psm_core::testkit::Subject::with_clock(store, clock)
}

psm_core::session_store_tests!(store);
