//! `RedisStore`: the `SessionStore` over one Redis server or a Redis Cluster.

use std::sync::Arc;
use std::time::{Duration, Instant};

use psm_core::permission::ParsedPermission;
use psm_core::valid::{SessionId, Ttl, UserId, ValidSession};
use psm_core::{
    Capabilities, Error, Health, Limits, PermissionSet, Result, Session, SessionBackend,
    StoreStats, StoreUrl, Timestamp,
};

use crate::cluster::{self, Change};
use crate::config::{DEFAULT_KEY_PREFIX, RedisConfig, Servers};
use crate::conn::{BACKEND, Link, Pool, Target};
use crate::keys::Keys;
use crate::record::{encode_check_field, encode_grants_tail};
use crate::scan;
use crate::scripts::{LIST_SCRIPT, STORE_SCRIPT};
use crate::sessions::{self, Outcome, Write, removed_and_ids};
use crate::tls;

/// A `SessionStore` on Redis or Redis Cluster. Cheap to clone (clones share connections).
#[derive(Debug, Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    link: Arc<Link>,
    keys: Keys,
    default_ttl: Option<Duration>,
    limits: Limits,
    cluster: bool,
}

impl RedisStore {
    /// Connects with the options of a store URL (see the crate docs for the options).
    pub async fn from_url(url: StoreUrl) -> Result<Self> {
        Self::connect(RedisConfig::from_url(url)?).await
    }

    /// Connects with a typed configuration. Fails with `Error::Connection` or `Error::Timeout`
    /// when the server cannot be reached.
    pub async fn connect(config: RedisConfig) -> Result<Self> {
        config.validate()?;
        let link = Arc::new(open_link(&config).await?);
        let prefix = config.key_prefix.as_deref().unwrap_or(DEFAULT_KEY_PREFIX);
        Ok(RedisStore {
            inner: Arc::new(Inner {
                keys: Keys::new(prefix),
                cluster: link.is_cluster(),
                link,
                default_ttl: config.default_ttl,
                limits: config.limits,
            }),
        })
    }

    /// The key prefix of this store.
    pub fn key_prefix(&self) -> &str {
        self.inner.keys.prefix()
    }

    /// SHA1 of the Lua script `store_session` runs with `EVALSHA` on a single server (KEYS:
    /// session key, index key; ARGV: prefix, session id, user id, `p` field, now in ms,
    /// metadata JSON, expiry score, `PEXPIREAT` argument, `1`), loaded by the first store. For
    /// benches that send the same command raw (`redis-benchmark`) to compare with.
    pub fn store_script_sha1() -> &'static str {
        STORE_SCRIPT.get_hash()
    }

    /// A roles provider sharing this store's connections, with its own key prefix.
    pub fn permissions_provider(
        &self,
        key_prefix: impl Into<String>,
    ) -> crate::RedisPermissionsProvider {
        crate::RedisPermissionsProvider::with_link(self.inner.link.clone(), key_prefix.into())
    }

    fn write<'a>(
        &'a self,
        session_id: &'a str,
        key: &'a str,
        now: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> Write<'a> {
        Write::new(
            self.inner.keys.prefix(),
            session_id,
            key,
            now,
            expires_at,
            !self.inner.cluster,
        )
    }

    /// Live ids of `user_id` and how many stale index entries were dropped on the way.
    async fn list_and_repair(&self, user_id: &str, now: Timestamp) -> Result<(u64, Vec<String>)> {
        let inner = &self.inner;
        if inner.cluster {
            return cluster::list(&inner.link, &inner.keys, user_id, now).await;
        }
        let index_key = inner.keys.index(user_id);
        let reply = inner
            .link
            .run("list_sessions", |mut c| {
                let (index_key, prefix) = (&index_key, inner.keys.prefix());
                async move {
                    LIST_SCRIPT
                        .key(index_key)
                        .arg(prefix)
                        .arg(user_id)
                        .arg(now.as_millis())
                        .invoke_async(&mut c)
                        .await
                }
            })
            .await?;
        removed_and_ids(reply, &index_key)
    }
}

/// Builds the connection layer (hot-path connections, maintenance pool) and connects.
pub(crate) async fn open_link(config: &RedisConfig) -> Result<Link> {
    #[cfg(feature = "tls-rustls")]
    {
        // rediss:// needs a process-wide rustls provider; keep one the application installed.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    }
    let invalid = |e: redis::RedisError| Error::InvalidUrl {
        url: format!("{config:?}"),
        reason: e.to_string(),
    };
    let pool_error = |e: &dyn std::fmt::Display| Error::InvalidUrl {
        url: format!("{config:?}"),
        reason: format!("pool: {e}"),
    };
    let runtime = deadpool_redis::Runtime::Tokio1;
    let ca = tls::ca_pem(config)?;
    let (target, pool) = match &config.servers {
        Servers::Single(url) => {
            let client = match &ca {
                #[cfg(feature = "tls-rustls")]
                Some(pem) => redis::Client::build_with_tls(url.as_str(), tls::certificates(pem)),
                _ => redis::Client::open(url.as_str()),
            }
            .map_err(invalid)?;
            let conn_config = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(config.connect_timeout))
                .set_response_timeout(Some(config.timeout));
            // the client's connection info carries its TLS settings (the CA) to the pool too
            let manager = deadpool_redis::Manager::new_with_config(
                client.get_connection_info().clone(),
                conn_config,
            )
            .map_err(invalid)?;
            let pool = deadpool_redis::Pool::builder(manager)
                .max_size(config.max_connections)
                .wait_timeout(Some(config.timeout))
                .create_timeout(Some(config.connect_timeout))
                .recycle_timeout(Some(config.timeout))
                .runtime(runtime)
                .build()
                .map_err(|e| pool_error(&e))?;
            (Target::Single(client), Pool::Single(pool))
        }
        Servers::Cluster(nodes) => {
            let builder =
                redis::cluster::ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                    .connection_timeout(config.connect_timeout)
                    .response_timeout(config.timeout)
                    .retries(2);
            #[cfg(feature = "tls-rustls")]
            let builder = match &ca {
                Some(pem) => builder.certs(tls::certificates(pem)),
                None => builder,
            };
            let client = builder.build().map_err(invalid)?;
            if ca.is_some() {
                // deadpool-redis cannot hand a CA to its cluster connections: maintenance then
                // runs on the hot-path cluster connections (multiplexed, so nothing queues)
                let link = Link::new(
                    Target::Cluster(client),
                    Pool::Hot,
                    config.connections,
                    config.connect_timeout,
                    config.timeout,
                );
                link.connect_all().await?;
                return Ok(link);
            }
            let manager =
                deadpool_redis::cluster::Manager::new(nodes.clone(), false).map_err(invalid)?;
            let pool = deadpool_redis::cluster::Pool::builder(manager)
                .max_size(config.max_connections)
                .wait_timeout(Some(config.timeout))
                .create_timeout(Some(config.connect_timeout))
                .recycle_timeout(Some(config.timeout))
                .runtime(runtime)
                .build()
                .map_err(|e| pool_error(&e))?;
            (Target::Cluster(client), Pool::Cluster(pool))
        }
    };
    let link = Link::new(
        target,
        pool,
        config.connections,
        config.connect_timeout,
        config.timeout,
    );
    link.connect_all().await?;
    Ok(link)
}

impl SessionBackend for RedisStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(true, true, true, self.inner.cluster)
    }

    fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    #[inline]
    fn is_closed(&self) -> bool {
        self.inner.link.is_closed()
    }

    async fn store_session(&self, session: ValidSession) -> Result<Session> {
        let inner = &self.inner;
        let session = session.into_parts();
        let now = Timestamp::now();
        let expires_at = session.expiry.resolve(now, inner.default_ttl);
        let metadata_json = serde_json::to_string(&session.metadata)
            .map_err(|e| Error::backend(BACKEND, "encode metadata", e))?;
        let check_field = encode_check_field(expires_at, &session.grants);
        let key = inner.keys.session(&session.session_id);
        let w = self.write(&session.session_id, &key, now, expires_at);
        if inner.cluster {
            cluster::store(
                &inner.link,
                &inner.keys,
                &w,
                &session.user_id,
                &check_field,
                &metadata_json,
            )
            .await?;
        } else {
            let index_key = inner.keys.index(&session.user_id);
            sessions::store(
                &inner.link,
                &w,
                &index_key,
                &session.user_id,
                &check_field,
                &metadata_json,
            )
            .await?;
        }
        Ok(session.into_session(now, expires_at))
    }

    async fn check_permission(
        &self,
        session_id: SessionId<'_>,
        permission: ParsedPermission<'_>,
    ) -> Result<bool> {
        let key = self.inner.keys.session(&session_id);
        let raw = sessions::fetch_check_field(&self.inner.link, "check_permission", &key).await?;
        sessions::evaluate_one(raw.as_deref(), &key, Timestamp::now(), permission)
    }

    async fn check_permissions(
        &self,
        session_id: SessionId<'_>,
        permissions: &[ParsedPermission<'_>],
    ) -> Result<Vec<bool>> {
        let key = self.inner.keys.session(&session_id);
        let raw = sessions::fetch_check_field(&self.inner.link, "check_permissions", &key).await?;
        sessions::evaluate(raw.as_deref(), &key, Timestamp::now(), permissions)
    }

    async fn get_session(&self, session_id: SessionId<'_>) -> Result<Option<Session>> {
        let key = self.inner.keys.session(&session_id);
        sessions::get(&self.inner.link, &session_id, &key, Timestamp::now()).await
    }

    async fn update_permissions(
        &self,
        session_id: SessionId<'_>,
        grants: PermissionSet,
        ttl: Option<Ttl>,
    ) -> Result<bool> {
        let inner = &self.inner;
        let now = Timestamp::now();
        let tail = encode_grants_tail(&grants);
        let key = inner.keys.session(&session_id);
        let w = self.write(&session_id, &key, now, ttl.map(|t| t.after(now)));
        if inner.cluster && ttl.is_some() {
            let change = Change::Update { grants_tail: &tail };
            return cluster::change_expiry(&inner.link, &inner.keys, &w, change).await;
        }
        let outcome = sessions::update(&inner.link, &w, &tail, "").await?;
        Ok(matches!(outcome, Outcome::Done(_)))
    }

    async fn extend_session_ttl(&self, session_id: SessionId<'_>, ttl: Ttl) -> Result<bool> {
        let inner = &self.inner;
        let now = Timestamp::now();
        let key = inner.keys.session(&session_id);
        let w = self.write(&session_id, &key, now, Some(ttl.after(now)));
        if inner.cluster {
            return cluster::change_expiry(&inner.link, &inner.keys, &w, Change::Extend).await;
        }
        let outcome = sessions::extend(&inner.link, &w, "").await?;
        Ok(matches!(outcome, Outcome::Done(_)))
    }

    async fn list_sessions(&self, user_id: UserId<'_>) -> Result<Vec<String>> {
        let (_, mut ids) = self.list_and_repair(&user_id, Timestamp::now()).await?;
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    async fn invalidate_session(&self, session_id: SessionId<'_>) -> Result<bool> {
        let inner = &self.inner;
        let key = inner.keys.session(&session_id);
        let w = self.write(&session_id, &key, Timestamp::now(), None);
        if inner.cluster {
            return cluster::invalidate(&inner.link, &inner.keys, &w).await;
        }
        Ok(sessions::invalidate(&inner.link, &w).await?.0)
    }

    async fn cleanup_expired_sessions(&self) -> Result<u64> {
        let inner = &self.inner;
        let index_keys = scan::keys(
            &inner.link,
            "cleanup_expired_sessions",
            inner.keys.index_pattern(),
            "zset",
        )
        .await?;
        let now = Timestamp::now();
        let mut removed = 0u64;
        for key in index_keys {
            if let Some(user) = inner.keys.user_of_index(&key) {
                removed += self.list_and_repair(&user, now).await?.0;
            }
        }
        metrics::counter!("psm_redis_cleaned_total").increment(removed);
        Ok(removed)
    }

    async fn count_sessions(&self) -> Result<u64> {
        let inner = &self.inner;
        let found = scan::keys(
            &inner.link,
            "count_sessions",
            inner.keys.session_pattern(),
            "hash",
        )
        .await?;
        Ok(found.len() as u64)
    }

    async fn stats(&self) -> Result<StoreStats> {
        let inner = &self.inner;
        let mut stats = StoreStats::new(BACKEND);
        stats.live_sessions = SessionBackend::count_sessions(self).await?;
        let users = scan::keys(&inner.link, "stats", inner.keys.index_pattern(), "zset").await?;
        stats.users = Some(users.len() as u64);
        Ok(stats)
    }

    async fn health_check(&self) -> Health {
        let started = Instant::now();
        let result = self
            .inner
            .link
            .run("health_check", |mut c| async move {
                redis::cmd("PING").query_async::<String>(&mut c).await
            })
            .await;
        match result {
            Ok(_) => Health::healthy(BACKEND, started.elapsed()),
            Err(e) => Health::unhealthy(BACKEND, started.elapsed(), e.to_string()),
        }
    }

    async fn close(&self) -> Result<()> {
        self.inner.link.close();
        Ok(())
    }
}
