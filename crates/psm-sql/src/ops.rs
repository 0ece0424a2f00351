//! The `SessionStore` implementation of `SqlStore`: one parameterised statement per operation,
//! reads on the dedicated lanes, writes through the pool, expired rows filtered everywhere.

use std::time::Instant;

use psm_core::permission::ParsedPermission;
use psm_core::valid::{SessionId, Ttl, UserId, ValidSession};
use psm_core::{
    Capabilities, Health, Limits, PermissionSet, Result, Session, SessionBackend, StoreStats,
    Timestamp,
};
use sqlx::Row;

use crate::conn::{dispatch, read_fast};
use crate::exec::{Bind, read_texts, write};
use crate::rows::{
    TextColumn, from_db, metadata_from_db, pack_permissions, to_db, unpack_permissions,
};
use crate::schema::SessionSql;
use crate::store::SqlStore;

/// Most cleanup batches one `cleanup_expired_sessions` call runs (the next call continues).
const MAX_CLEANUP_BATCHES: u32 = 10_000;

impl SqlStore {
    fn location(&self, session_id: &str) -> String {
        format!("{}/{}", self.inner.sql.table, session_id)
    }

    /// The packed permissions of the live session, if any: one SELECT on a read lane.
    async fn live_permissions(
        &self,
        session_id: &str,
        now: i64,
        op: &'static str,
    ) -> Result<Option<String>> {
        let sql = &self.inner.sql.select_permissions;
        dispatch!(&self.inner.conns, h => read_fast!(h, op, conn => {
            match sqlx::query(sql).bind(session_id).bind(now).fetch_optional(&mut *conn).await {
                Ok(Some(row)) => row.text(0).map(Some),
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            }
        }))
    }

    /// A single-integer read (`COUNT(*)`) on a read lane, with `now` bound `binds` times.
    async fn read_count(&self, op: &'static str, sql: &str, now: i64, binds: usize) -> Result<u64> {
        let n: i64 = dispatch!(&self.inner.conns, h => read_fast!(h, op, conn => {
            let mut query = sqlx::query(sql);
            for _ in 0..binds {
                query = query.bind(now);
            }
            match query.fetch_one(&mut *conn).await {
                Ok(row) => row.try_get::<i64, _>(0),
                Err(e) => Err(e),
            }
        }))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl SqlStore {
    /// The time of this store's clock, and as bound to statements.
    fn now_ms(&self) -> (Timestamp, i64) {
        let now = self.inner.clock.now();
        (now, to_db(now))
    }

    /// The live session's permissions, if any.
    async fn live_set(
        &self,
        session_id: SessionId<'_>,
        op: &'static str,
    ) -> Result<Option<PermissionSet>> {
        let (_, now) = self.now_ms();
        match self.live_permissions(&session_id, now, op).await? {
            None => Ok(None),
            Some(packed) => unpack_permissions(&packed, || self.location(&session_id)).map(Some),
        }
    }
}

impl SessionBackend for SqlStore {
    fn backend(&self) -> &'static str {
        self.inner.dialect.name()
    }

    fn capabilities(&self) -> Capabilities {
        let durable = !self.inner.memory;
        Capabilities::new(durable, durable, false, false)
    }

    fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    #[inline]
    fn is_closed(&self) -> bool {
        self.inner.closed.load(std::sync::atomic::Ordering::Acquire)
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    async fn store_session(&self, session: ValidSession) -> Result<Session> {
        let session = session.into_parts();
        let (now, now_db) = self.now_ms();
        let expires_at = session.expiry.resolve(now, self.inner.default_ttl);
        let meta_text = session.metadata.to_string();
        let packed = pack_permissions(&session.grants);
        let expires_db = expires_at.map(to_db);
        write(
            &self.inner.conns,
            "store_session",
            &self.inner.sql.upsert,
            &[
                Bind::Text(&session.session_id),
                Bind::Text(&session.user_id),
                Bind::Text(&packed),
                Bind::Int(now_db),
                Bind::Int(now_db),
                Bind::OptInt(expires_db),
                Bind::Text(&meta_text),
            ],
        )
        .await?;
        Ok(session.into_session(now, expires_at))
    }

    async fn check_permission(
        &self,
        session_id: SessionId<'_>,
        permission: ParsedPermission<'_>,
    ) -> Result<bool> {
        metrics::counter!("psm_sql_checks_total").increment(1);
        let set = self.live_set(session_id, "check_permission").await?;
        Ok(set.is_some_and(|set| set.check_parsed(permission)))
    }

    async fn check_permissions(
        &self,
        session_id: SessionId<'_>,
        permissions: &[ParsedPermission<'_>],
    ) -> Result<Vec<bool>> {
        if permissions.is_empty() {
            return Ok(Vec::new());
        }
        let set = self.live_set(session_id, "check_permissions").await?;
        Ok(permissions
            .iter()
            .map(|p| set.as_ref().is_some_and(|set| set.check_parsed(*p)))
            .collect())
    }

    async fn get_session(&self, session_id: SessionId<'_>) -> Result<Option<Session>> {
        let session_id = session_id.as_str();
        let (_, now) = self.now_ms();
        let sql = &self.inner.sql.select_session;
        type Raw = (String, String, i64, i64, Option<i64>, String);
        let raw: Option<Raw> = dispatch!(&self.inner.conns, h => read_fast!(h, "get_session", conn => {
            match sqlx::query(sql).bind(session_id).bind(now).fetch_optional(&mut *conn).await {
                Ok(Some(row)) => (|| Ok(Some((
                    row.text(0)?,
                    row.text(1)?,
                    row.try_get::<i64, _>(2)?,
                    row.try_get::<i64, _>(3)?,
                    row.try_get::<Option<i64>, _>(4)?,
                    row.text(5)?,
                ))))(),
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            }
        }))?;
        let Some((user_id, packed, created, updated, expires, meta)) = raw else {
            return Ok(None);
        };
        let loc = || self.location(session_id);
        Ok(Some(Session {
            session_id: session_id.to_owned(),
            user_id,
            permissions: unpack_permissions(&packed, loc)?.to_vec(),
            created_at: from_db(created, loc)?,
            updated_at: from_db(updated, loc)?,
            expires_at: expires.map(|e| from_db(e, loc)).transpose()?,
            metadata: metadata_from_db(&meta, loc)?,
        }))
    }

    async fn update_permissions(
        &self,
        session_id: SessionId<'_>,
        grants: PermissionSet,
        ttl: Option<Ttl>,
    ) -> Result<bool> {
        let session_id = session_id.as_str();
        let packed = pack_permissions(&grants);
        let (now, now_db) = self.now_ms();
        let sql: &SessionSql = &self.inner.sql;
        let touched = match ttl {
            None => {
                write(
                    &self.inner.conns,
                    "update_permissions",
                    &sql.update_permissions,
                    &[
                        Bind::Text(&packed),
                        Bind::Int(now_db),
                        Bind::Text(session_id),
                        Bind::Int(now_db),
                    ],
                )
                .await?
            }
            Some(ttl) => {
                write(
                    &self.inner.conns,
                    "update_permissions",
                    &sql.update_permissions_ttl,
                    &[
                        Bind::Text(&packed),
                        Bind::Int(now_db),
                        Bind::Int(to_db(ttl.after(now))),
                        Bind::Text(session_id),
                        Bind::Int(now_db),
                    ],
                )
                .await?
            }
        };
        Ok(touched > 0)
    }

    async fn extend_session_ttl(&self, session_id: SessionId<'_>, ttl: Ttl) -> Result<bool> {
        let (now, now_db) = self.now_ms();
        let touched = write(
            &self.inner.conns,
            "extend_session_ttl",
            &self.inner.sql.extend,
            &[
                Bind::Int(to_db(ttl.after(now))),
                Bind::Int(now_db),
                Bind::Text(&session_id),
                Bind::Int(now_db),
            ],
        )
        .await?;
        Ok(touched > 0)
    }

    async fn list_sessions(&self, user_id: UserId<'_>) -> Result<Vec<String>> {
        let (_, now) = self.now_ms();
        let mut ids = read_texts(
            &self.inner.conns,
            "list_sessions",
            &self.inner.sql.list,
            &[Bind::Text(&user_id), Bind::Int(now)],
        )
        .await?;
        ids.sort_unstable();
        Ok(ids)
    }

    async fn invalidate_session(&self, session_id: SessionId<'_>) -> Result<bool> {
        let (_, now) = self.now_ms();
        let touched = write(
            &self.inner.conns,
            "invalidate_session",
            &self.inner.sql.delete,
            &[Bind::Text(&session_id), Bind::Int(now)],
        )
        .await?;
        Ok(touched > 0)
    }

    async fn cleanup_expired_sessions(&self) -> Result<u64> {
        let (_, now) = self.now_ms();
        let binds = [Bind::Int(now), Bind::Int(now)];
        let binds = &binds[..SessionSql::cleanup_binds(self.inner.dialect)];
        let mut total = 0u64;
        for _ in 0..MAX_CLEANUP_BATCHES {
            let removed = write(
                &self.inner.conns,
                "cleanup_expired_sessions",
                &self.inner.sql.cleanup,
                binds,
            )
            .await?;
            total += removed;
            if removed < u64::from(self.inner.cleanup_batch) {
                break;
            }
        }
        metrics::counter!("psm_sql_sessions_cleaned_total").increment(total);
        Ok(total)
    }

    async fn count_sessions(&self) -> Result<u64> {
        let (_, now) = self.now_ms();
        self.read_count("count_sessions", &self.inner.sql.count, now, 1)
            .await
    }

    async fn stats(&self) -> Result<StoreStats> {
        let (_, now) = self.now_ms();
        let sql = &self.inner.sql.stats;
        let (live, expired, users): (i64, i64, i64) = dispatch!(&self.inner.conns, h => read_fast!(h, "stats", conn => {
            match sqlx::query(sql).bind(now).bind(now).bind(now).fetch_one(&mut *conn).await {
                Ok(row) => (|| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))(),
                Err(e) => Err(e),
            }
        }))?;
        let mut stats = StoreStats::new(SessionBackend::backend(self));
        stats.live_sessions = u64::try_from(live).unwrap_or(0);
        stats.expired_pending = u64::try_from(expired).unwrap_or(0);
        stats.users = u64::try_from(users).ok();
        let (pool_size, pool_idle) =
            dispatch!(&self.inner.conns, h => (h.pool.size(), h.pool.num_idle()));
        stats
            .extra
            .insert("pool_size".to_owned(), u64::from(pool_size));
        stats.extra.insert("pool_idle".to_owned(), pool_idle as u64);
        Ok(stats)
    }

    async fn health_check(&self) -> Health {
        let started = Instant::now();
        let backend = SessionBackend::backend(self);
        match self.ping().await {
            Ok(()) => Health::healthy(backend, started.elapsed()),
            Err(e) => Health::unhealthy(backend, started.elapsed(), e.to_string()),
        }
    }

    async fn close(&self) -> Result<()> {
        self.shut().await;
        Ok(())
    }
}
