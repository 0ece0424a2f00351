//! `SessionBackend`: the narrow trait a session backend implements. It receives validated values
//! only; the one layer that turns any `SessionBackend` into a [`SessionStore`] — input validation,
//! the closed check, the tracing span and the metrics — is written once, here.
//!
//! The layer is a blanket `impl<B: SessionBackend> SessionStore for B`: it costs what the checks
//! themselves cost (no allocation beyond the boxed future every `SessionStore` call already has,
//! no second clock read, each input scanned once), keeps a backend's own type and methods, and
//! dispatches statically to the backend. Without a tracing subscriber and a metrics recorder the
//! span and the counters are a few loads each.
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use psm_core::backend::SessionBackend;
//! use psm_core::permission::ParsedPermission;
//! use psm_core::valid::{SessionId, Ttl, UserId, ValidSession};
//! use psm_core::{
//!     Capabilities, Health, Limits, NewSession, PermissionSet, Result, Session, SessionStore,
//!     StoreStats, Timestamp,
//! };
//!
//! /// Sessions in a map, never expiring: just enough to show the shape.
//! #[derive(Debug, Default)]
//! struct Tiny {
//!     map: Mutex<HashMap<String, Session>>,
//!     limits: Limits,
//!     closed: AtomicBool,
//! }
//!
//! impl SessionBackend for Tiny {
//!     fn backend(&self) -> &'static str { "tiny" }
//!     fn capabilities(&self) -> Capabilities { Capabilities::default() }
//!     fn limits(&self) -> &Limits { &self.limits }
//!     fn is_closed(&self) -> bool { self.closed.load(Ordering::Relaxed) }
//!     async fn store_session(&self, session: ValidSession) -> Result<Session> {
//!         let s = session.into_parts().into_session(Timestamp::now(), None);
//!         self.map.lock().unwrap().insert(s.session_id.clone(), s.clone());
//!         Ok(s)
//!     }
//!     async fn check_permissions(&self, id: SessionId<'_>, wanted: &[ParsedPermission<'_>]) -> Result<Vec<bool>> {
//!         let map = self.map.lock().unwrap();
//!         let grants = map.get(id.as_str()).map(|s| PermissionSet::new(&s.permissions)).transpose()?;
//!         Ok(wanted.iter().map(|p| grants.as_ref().is_some_and(|g| g.check_parsed(*p))).collect())
//!     }
//!     async fn get_session(&self, id: SessionId<'_>) -> Result<Option<Session>> {
//!         Ok(self.map.lock().unwrap().get(id.as_str()).cloned())
//!     }
//!     async fn update_permissions(&self, id: SessionId<'_>, grants: PermissionSet, _ttl: Option<Ttl>) -> Result<bool> {
//!         let mut map = self.map.lock().unwrap();
//!         Ok(map.get_mut(id.as_str()).map(|s| s.permissions = grants.to_vec()).is_some())
//!     }
//!     async fn extend_session_ttl(&self, id: SessionId<'_>, _ttl: Ttl) -> Result<bool> {
//!         Ok(self.map.lock().unwrap().contains_key(id.as_str()))
//!     }
//!     async fn list_sessions(&self, user: UserId<'_>) -> Result<Vec<String>> {
//!         let mut ids: Vec<String> = self.map.lock().unwrap().values()
//!             .filter(|s| s.user_id == user.as_str()).map(|s| s.session_id.clone()).collect();
//!         ids.sort();
//!         Ok(ids)
//!     }
//!     async fn invalidate_session(&self, id: SessionId<'_>) -> Result<bool> {
//!         Ok(self.map.lock().unwrap().remove(id.as_str()).is_some())
//!     }
//!     async fn cleanup_expired_sessions(&self) -> Result<u64> { Ok(0) }
//!     async fn count_sessions(&self) -> Result<u64> { Ok(self.map.lock().unwrap().len() as u64) }
//!     async fn stats(&self) -> Result<StoreStats> { Ok(StoreStats::new("tiny")) }
//!     async fn health_check(&self) -> Health { Health::healthy("tiny", Default::default()) }
//!     async fn close(&self) -> Result<()> { self.closed.store(true, Ordering::Relaxed); Ok(()) }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // a SessionStore now, validation and the closed check included (where both traits are in
//! // scope, call through `dyn SessionStore` or `SessionStore::method` to pick the checked one)
//! let store: &dyn SessionStore = &Tiny::default();
//! store.store_session(NewSession::new("s1", "alice").permissions(["posts:*"])).await?;
//! assert!(store.check_permission("s1", "posts:read").await?);
//! assert!(store.check_permission("../s1", "posts:read").await.is_err());
//! store.close().await?;
//! assert!(matches!(store.get_session("s1").await, Err(psm_core::Error::Closed)));
//! # Ok::<(), psm_core::Error>(()) }).unwrap();
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::permission::{ParsedPermission, PermissionSet};
use crate::session::{NewSession, Session, SessionInfo};
use crate::store::{Capabilities, CheckNow, Health, SessionStore, StoreStats};
use crate::time::Timestamp;
use crate::valid::{SessionId, Ttl, UserId, ValidSession};
use crate::validate::{self, Limits};

/// A session backend: the storage half of a [`SessionStore`]. Every argument is already
/// validated (the types say so) and the store is known to be open; a backend only stores,
/// reads, and filters out expired sessions. Implement it and the type is a `SessionStore`.
///
/// The rules of [`SessionStore`] hold for the methods of the same name.
pub trait SessionBackend: Send + Sync + fmt::Debug {
    /// Short backend name (`memory`, `file`, `redis`, `postgres`, ...).
    fn backend(&self) -> &'static str;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// The bounds applied to session writes.
    fn limits(&self) -> &Limits;

    /// True once [`close`](Self::close) ran: every later call but `close` and `health_check`
    /// fails with `Error::Closed`, and `health_check` reports unhealthy.
    fn is_closed(&self) -> bool;

    /// True for a backend that forwards writes to another [`SessionStore`] (a cache in front of
    /// a store): the layer then leaves the write counters to that store, so a write through
    /// both is counted once.
    #[inline]
    fn forwards_writes(&self) -> bool {
        false
    }

    /// The current time as this backend sees it (its clock).
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    /// Stores (or replaces) a session and returns what was stored.
    fn store_session(&self, session: ValidSession) -> impl Future<Output = Result<Session>> + Send;

    /// Is `permission` granted to the live session? Defaults to
    /// [`check_permissions`](Self::check_permissions) with one permission.
    fn check_permission(
        &self,
        session_id: SessionId<'_>,
        permission: ParsedPermission<'_>,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            let answers = self.check_permissions(session_id, &[permission]).await?;
            Ok(answers.first().copied().unwrap_or(false))
        }
    }

    /// [`check_permission`](Self::check_permission) answered synchronously, without I/O or
    /// waiting, or `None` when that is not possible this time (the async method then runs).
    /// A backend that can ([`checks_without_io`](Self::checks_without_io)) implements it; the
    /// layer calls it only then, so no other backend validates its input twice.
    #[inline]
    fn check_permission_now(
        &self,
        session_id: SessionId<'_>,
        permission: ParsedPermission<'_>,
    ) -> Option<Result<bool>> {
        let _ = (session_id, permission);
        None
    }

    /// The answer for a live session held under exactly `candidate`, given at once: `Some`
    /// (granted or not) when this backend holds such a session and can tell without I/O,
    /// `None` otherwise (no such session, expired, or not answerable now).
    ///
    /// `candidate` is **not validated**; only its length is bounded (1 to
    /// [`MAX_ID_LEN`](validate::MAX_ID_LEN) bytes). The layer asks this first on a synchronous
    /// check and validates the id only when it gets `None`, which saves the id scan on every hit.
    /// That is sound because every id a backend holds passed [`SessionId::parse`] when it was
    /// stored (or decoded): an answer proves `candidate` equal to a valid id. An implementation
    /// must therefore only hash `candidate` and compare it byte for byte with the ids it holds —
    /// never build a key, path or query from it, never touch I/O — and must answer `None` for
    /// every id it does not hold. Defaults to `None` (the layer validates first, as for every
    /// other call).
    #[inline]
    fn check_held_now(&self, candidate: &str, permission: ParsedPermission<'_>) -> Option<bool> {
        let _ = (candidate, permission);
        None
    }

    /// [`check_held_now`](Self::check_held_now) for a permission not yet validated: `Some` when
    /// a live session is held under exactly `candidate` (with the answer, or the permission's
    /// typed error when it is invalid), `None` otherwise. The same rules hold for `candidate`.
    /// A backend that holds grants as a [`PermissionSet`] answers with
    /// [`PermissionSet::check_unparsed`], which compares the exact grants before validating the
    /// permission; the default validates first and asks `check_held_now`.
    #[inline]
    fn check_held_unparsed_now(&self, candidate: &str, permission: &str) -> Option<Result<bool>> {
        let permission = validate::permission(permission).ok()?;
        self.check_held_now(candidate, permission).map(Ok)
    }

    /// True when [`check_permission_now`](Self::check_permission_now) usually answers (an
    /// in-process backend); false (the default) makes the layer skip it.
    #[inline]
    fn checks_without_io(&self) -> bool {
        false
    }

    /// One answer per permission, in order.
    fn check_permissions(
        &self,
        session_id: SessionId<'_>,
        permissions: &[ParsedPermission<'_>],
    ) -> impl Future<Output = Result<Vec<bool>>> + Send;

    /// The live session, or `None`.
    fn get_session(
        &self,
        session_id: SessionId<'_>,
    ) -> impl Future<Output = Result<Option<Session>>> + Send;

    /// Facts about the live session, or `None`; defaults to `get_session` at [`now`](Self::now).
    fn get_session_info(
        &self,
        session_id: SessionId<'_>,
    ) -> impl Future<Output = Result<Option<SessionInfo>>> + Send {
        async move {
            let session = self.get_session(session_id).await?;
            Ok(session.map(|s| s.info_at(self.now())))
        }
    }

    /// Replaces the permissions of a live session; `ttl: None` keeps the remaining TTL.
    fn update_permissions(
        &self,
        session_id: SessionId<'_>,
        grants: PermissionSet,
        ttl: Option<Ttl>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Makes a live session expire `ttl` from now.
    fn extend_session_ttl(
        &self,
        session_id: SessionId<'_>,
        ttl: Ttl,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Ids of the live sessions of `user_id`, sorted.
    fn list_sessions(
        &self,
        user_id: UserId<'_>,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Removes a session. False when there was no live session.
    fn invalidate_session(
        &self,
        session_id: SessionId<'_>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Removes expired sessions now; returns how many were removed.
    fn cleanup_expired_sessions(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Number of live sessions.
    fn count_sessions(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Counters and sizes.
    fn stats(&self) -> impl Future<Output = Result<StoreStats>> + Send;

    /// Probes the open backend; never fails, reports instead.
    fn health_check(&self) -> impl Future<Output = Health> + Send;

    /// Stops background work and releases connections; may be called more than once.
    fn close(&self) -> impl Future<Output = Result<()>> + Send;
}

/// A span for one call; free when no subscriber listens at `debug`.
macro_rules! span {
    ($self:ident, $op:literal) => {
        tracing::debug_span!("psm", op = $op, backend = SessionBackend::backend($self))
    };
}

/// Counts one write of kind `$op`, unless the backend forwards writes to a store that counts.
macro_rules! count_write {
    ($self:ident, $op:literal) => {
        if !SessionBackend::forwards_writes($self) {
            metrics::counter!("psm_writes_total", "op" => $op).increment(1);
        }
    };
}

/// The closed check, then `$body` inside the call's span.
macro_rules! guarded {
    ($self:ident, $op:literal, $body:expr) => {{
        if SessionBackend::is_closed($self) {
            return Err(Error::Closed);
        }
        async { $body }.instrument(span!($self, $op)).await
    }};
}

/// The synchronous check: validation once, the backend's answer, the counter. The id of a held
/// session is proven valid by being held (see [`SessionBackend::check_held_now`]), so it is
/// scanned only when the backend holds no live session under it; the permission is compared
/// with the held session's exact grants before it is parsed
/// ([`SessionBackend::check_held_unparsed_now`]: an invalid one is still a typed error), and
/// when both are invalid the id's error is the one returned, as on every other path.
#[inline(always)]
fn check_now<B: SessionBackend>(backend: &B, session_id: &str, permission: &str) -> CheckNow {
    let held = if session_id.is_empty() || session_id.len() > validate::MAX_ID_LEN {
        None
    } else {
        SessionBackend::check_held_unparsed_now(backend, session_id, permission)
    };
    let granted = match held {
        Some(Ok(granted)) => granted,
        Some(Err(e)) => return failed(e),
        None => {
            let permission = match validate::permission(permission) {
                Ok(p) => p,
                Err(e) => return failed(validate::session_id(session_id).err().unwrap_or(e)),
            };
            let id = match SessionId::parse(session_id) {
                Ok(id) => id,
                Err(e) => return failed(e),
            };
            match SessionBackend::check_permission_now(backend, id, permission) {
                Some(Ok(granted)) => granted,
                Some(Err(e)) => return failed(e),
                None => return CheckNow::Later,
            }
        }
    };
    metrics::counter!("psm_checks_total").increment(1);
    CheckNow::Answer(granted)
}

/// [`check_now`] inside the call's span, out of line: the span's set-up would otherwise make
/// every untraced check pay for the registers it needs.
#[cold]
#[inline(never)]
fn check_now_traced<B: SessionBackend>(
    backend: &B,
    session_id: &str,
    permission: &str,
) -> CheckNow {
    let span = span!(backend, "check_permission");
    let _entered = span.enter();
    check_now(backend, session_id, permission)
}

/// A failed synchronous check (kept out of line: the hot path only ever answers).
#[cold]
#[inline(never)]
fn failed(error: Error) -> CheckNow {
    CheckNow::Failed(Box::new(error))
}

fn valid_ttl(ttl: Option<Duration>) -> Result<Option<Ttl>> {
    ttl.map(Ttl::new).transpose()
}

fn parse_all(permissions: &[String]) -> Result<Vec<ParsedPermission<'_>>> {
    permissions
        .iter()
        .map(|p| validate::permission(p))
        .collect()
}

#[async_trait]
impl<B: SessionBackend> SessionStore for B {
    fn backend(&self) -> &'static str {
        SessionBackend::backend(self)
    }

    fn capabilities(&self) -> Capabilities {
        SessionBackend::capabilities(self)
    }

    async fn store_session(&self, session: NewSession) -> Result<Session> {
        guarded!(self, "store_session", {
            let session = ValidSession::new(session, self.limits())?;
            count_write!(self, "store");
            SessionBackend::store_session(self, session).await
        })
    }

    #[inline]
    async fn check_permission(&self, session_id: &str, permission: &str) -> Result<bool> {
        guarded!(self, "check_permission", {
            let id = SessionId::parse(session_id)?;
            let permission = validate::permission(permission)?;
            let allowed = SessionBackend::check_permission(self, id, permission).await;
            metrics::counter!("psm_checks_total").increment(1);
            allowed
        })
    }

    #[inline]
    fn check_permission_now(&self, session_id: &str, permission: &str) -> CheckNow {
        if !SessionBackend::checks_without_io(self) {
            return CheckNow::Later;
        }
        if SessionBackend::is_closed(self) {
            return failed(Error::Closed);
        }
        // without a subscriber at `debug`, no span is made at all: one load of the level filter
        if tracing::level_enabled!(tracing::Level::DEBUG) {
            return check_now_traced(self, session_id, permission);
        }
        check_now(self, session_id, permission)
    }

    async fn check_permissions(
        &self,
        session_id: &str,
        permissions: &[String],
    ) -> Result<BTreeMap<String, bool>> {
        guarded!(self, "check_permissions", {
            let id = SessionId::parse(session_id)?;
            let parsed = parse_all(permissions)?;
            let answers = SessionBackend::check_permissions(self, id, &parsed).await?;
            metrics::counter!("psm_checks_total").increment(permissions.len() as u64);
            Ok(permissions
                .iter()
                .cloned()
                .zip(answers.into_iter().chain(std::iter::repeat(false)))
                .collect())
        })
    }

    async fn get_session(&self, session_id: &str) -> Result<Option<Session>> {
        guarded!(self, "get_session", {
            SessionBackend::get_session(self, SessionId::parse(session_id)?).await
        })
    }

    async fn get_session_info(&self, session_id: &str) -> Result<Option<SessionInfo>> {
        guarded!(self, "get_session_info", {
            SessionBackend::get_session_info(self, SessionId::parse(session_id)?).await
        })
    }

    async fn update_permissions(
        &self,
        session_id: &str,
        permissions: &[String],
        ttl: Option<Duration>,
    ) -> Result<bool> {
        guarded!(self, "update_permissions", {
            let id = SessionId::parse(session_id)?;
            let ttl = valid_ttl(ttl)?;
            let grants = validate::permissions(permissions, self.limits())?;
            count_write!(self, "update");
            SessionBackend::update_permissions(self, id, grants, ttl).await
        })
    }

    async fn extend_session_ttl(&self, session_id: &str, ttl: Duration) -> Result<bool> {
        guarded!(self, "extend_session_ttl", {
            let id = SessionId::parse(session_id)?;
            let ttl = Ttl::new(ttl)?;
            count_write!(self, "extend");
            SessionBackend::extend_session_ttl(self, id, ttl).await
        })
    }

    async fn list_sessions(&self, user_id: &str) -> Result<Vec<String>> {
        guarded!(self, "list_sessions", {
            SessionBackend::list_sessions(self, UserId::parse(user_id)?).await
        })
    }

    async fn invalidate_session(&self, session_id: &str) -> Result<bool> {
        guarded!(self, "invalidate_session", {
            let id = SessionId::parse(session_id)?;
            count_write!(self, "invalidate");
            SessionBackend::invalidate_session(self, id).await
        })
    }

    async fn cleanup_expired_sessions(&self) -> Result<u64> {
        guarded!(self, "cleanup_expired_sessions", {
            SessionBackend::cleanup_expired_sessions(self).await
        })
    }

    async fn count_sessions(&self) -> Result<u64> {
        guarded!(self, "count_sessions", {
            SessionBackend::count_sessions(self).await
        })
    }

    async fn stats(&self) -> Result<StoreStats> {
        guarded!(self, "stats", SessionBackend::stats(self).await)
    }

    async fn health_check(&self) -> Health {
        if SessionBackend::is_closed(self) {
            let backend = SessionBackend::backend(self);
            return Health::unhealthy(backend, Duration::ZERO, Error::Closed.to_string());
        }
        SessionBackend::health_check(self)
            .instrument(span!(self, "health_check"))
            .await
    }

    async fn close(&self) -> Result<()> {
        SessionBackend::close(self)
            .instrument(span!(self, "close"))
            .await
    }
}
