//! `PgBus`: invalidations over PostgreSQL LISTEN/NOTIFY (`pg_notify` to publish, sqlx
//! `PgListener` to receive), with a pinged listener that reconnects and reports the gap.

use std::time::Duration;

use async_trait::async_trait;
use psm_core::{Error, Result, StoreUrl};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};

use super::{
    BusEvent, DEFAULT_CHANNEL, Invalidation, InvalidationBus, Subscription, SubscriptionSender,
};
use crate::config::validate_topic;

const BACKEND: &str = "postgres";

/// Settings of a [`PgBus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBusConfig {
    /// NOTIFY channel (default `psm_cache_invalidation`); every instance must use the same.
    pub channel: String,
    /// Limit on connecting, listening, notifying and each ping (default 2 s).
    pub timeout: Duration,
    /// How often the listener connection is pinged (default 1 s).
    pub ping_interval: Duration,
    /// Longest wait between reconnection attempts (default 5 s).
    pub max_backoff: Duration,
}

impl Default for PgBusConfig {
    fn default() -> Self {
        PgBusConfig {
            channel: DEFAULT_CHANNEL.to_owned(),
            timeout: Duration::from_secs(2),
            ping_interval: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Invalidations over LISTEN/NOTIFY: publishing runs `SELECT pg_notify($1, $2)` on a pool of at
/// most two connections; each subscriber holds its own `PgListener`, pinged every
/// `ping_interval`, and reports [`BusEvent::Interrupted`] / [`BusEvent::Resumed`] around any
/// reconnection.
///
/// ```no_run
/// # async fn demo() -> psm_core::Result<()> {
/// use std::sync::Arc;
/// let bus = Arc::new(psm_cache::PgBus::connect("postgres://postgres@127.0.0.1/test").await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PgBus {
    pool: PgPool,
    url: String,
    redacted: String,
    config: PgBusConfig,
}

impl std::fmt::Debug for PgBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBus")
            .field("url", &self.redacted)
            .field("config", &self.config)
            .finish()
    }
}

impl PgBus {
    /// Connects with the default settings.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, PgBusConfig::default()).await
    }

    /// Connects with `config` (its channel must be 1–63 bytes of `[A-Za-z0-9_.:-]`).
    pub async fn connect_with(url: &str, config: PgBusConfig) -> Result<Self> {
        validate_topic(&config.channel)?;
        let redacted = StoreUrl::parse(url)?.redacted();
        let pool = tokio::time::timeout(
            config.timeout,
            PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(config.timeout)
                .connect(url),
        )
        .await
        .map_err(|_| timeout("connect", config.timeout))?
        .map_err(driver)?;
        Ok(PgBus {
            pool,
            url: url.to_owned(),
            redacted,
            config,
        })
    }

    async fn open(url: &str, config: &PgBusConfig) -> Result<PgListener> {
        let opened = tokio::time::timeout(config.timeout, async {
            let mut listener = PgListener::connect(url).await?;
            listener.listen(&config.channel).await?;
            Ok::<_, sqlx::Error>(listener)
        })
        .await
        .map_err(|_| timeout("listen", config.timeout))?;
        opened.map_err(driver)
    }
}

#[async_trait]
impl InvalidationBus for PgBus {
    fn name(&self) -> &'static str {
        BACKEND
    }

    #[tracing::instrument(skip_all, level = "debug", fields(bus = BACKEND))]
    async fn publish(&self, invalidation: &Invalidation) -> Result<()> {
        let sent = tokio::time::timeout(
            self.config.timeout,
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(self.config.channel.as_str())
                .bind(invalidation.encode())
                .execute(&self.pool),
        )
        .await
        .map_err(|_| timeout("notify", self.config.timeout))?;
        sent.map(|_| ()).map_err(driver)
    }

    async fn subscribe(&self) -> Result<Subscription> {
        let listener = Self::open(&self.url, &self.config).await?;
        let (out, sub) = Subscription::channel();
        tokio::spawn(run(self.url.clone(), self.config.clone(), listener, out));
        Ok(sub)
    }
}

/// The listener task: forwards notifications, pings, and reconnects with bounded backoff until
/// the subscriber goes away.
async fn run(url: String, config: PgBusConfig, first: PgListener, out: SubscriptionSender) {
    let mut listener = Some(first);
    let mut backoff = Duration::from_millis(50);
    loop {
        if let Some(mut l) = listener.take() {
            backoff = Duration::from_millis(50);
            let mut ping = tokio::time::interval(config.ping_interval);
            ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = out.closed() => return,
                    got = l.try_recv() => match got {
                        Ok(Some(n)) => {
                            let inv = Invalidation::decode(n.payload().as_bytes());
                            if !out.send(BusEvent::Invalidate(inv)).await {
                                return;
                            }
                        }
                        Ok(None) | Err(_) => break,
                    },
                    _ = ping.tick() => {
                        let pong = tokio::time::timeout(
                            config.timeout,
                            sqlx::query("SELECT 1").execute(&mut l),
                        )
                        .await;
                        if !matches!(pong, Ok(Ok(_))) {
                            break;
                        }
                    }
                }
            }
            tracing::warn!(
                bus = BACKEND,
                "invalidation listener lost; cache bypassed until it is back"
            );
            if !out.send(BusEvent::Interrupted).await {
                return;
            }
        }
        tokio::select! {
            _ = out.closed() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(config.max_backoff);
        match PgBus::open(&url, &config).await {
            Ok(l) => {
                if !out.send(BusEvent::Resumed).await {
                    return;
                }
                listener = Some(l);
            }
            Err(e) => tracing::debug!(bus = BACKEND, error = %e, "re-listen failed"),
        }
    }
}

fn timeout(operation: &'static str, after: Duration) -> Error {
    Error::Timeout {
        backend: BACKEND,
        operation,
        after,
    }
}

fn driver(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Io(io) => Error::Connection {
            backend: BACKEND,
            message: io.to_string(),
        },
        sqlx::Error::PoolTimedOut => Error::Connection {
            backend: BACKEND,
            message: "no connection available in time".into(),
        },
        other => Error::backend(BACKEND, "invalidation bus", other),
    }
}
