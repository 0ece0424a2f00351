//! What the session cache holds (a session with its compiled grants, or "missing") and the
//! per-entry expiry that never lets an entry outlive its session's `expires_at`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use psm_core::{PermissionSet, Session, Timestamp};

/// A live session with its grants compiled once.
#[derive(Debug)]
pub(crate) struct LiveSession {
    pub(crate) session: Session,
    pub(crate) grants: PermissionSet,
}

/// A cache value: `Some` for a session, `None` for a negative entry.
pub(crate) type Entry = Option<Arc<LiveSession>>;

/// Positive entries live `min(ttl, time left on the session)`; negative ones `negative_ttl`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionExpiry {
    pub(crate) ttl: Duration,
    pub(crate) negative_ttl: Duration,
}

impl SessionExpiry {
    fn lifetime(&self, value: &Entry) -> Duration {
        match value {
            None => self.negative_ttl,
            Some(live) => match live.session.expires_at {
                None => self.ttl,
                Some(at) => at.saturating_since(Timestamp::now()).min(self.ttl),
            },
        }
    }
}

impl Expiry<String, Entry> for SessionExpiry {
    fn expire_after_create(&self, _key: &String, value: &Entry, _at: Instant) -> Option<Duration> {
        Some(self.lifetime(value))
    }

    fn expire_after_update(
        &self,
        _key: &String,
        value: &Entry,
        _at: Instant,
        _left: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.lifetime(value))
    }
}
