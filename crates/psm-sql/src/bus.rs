//! `PgBus`: cache invalidations over PostgreSQL LISTEN/NOTIFY (`pg_notify` to publish, sqlx
//! `PgListener` to receive), with a pinged listener that reconnects (and reports the gap)
//! through psm-core's one reconnect loop. Driver errors map as every psm-sql error does.

use std::time::Duration;

use psm_core::invalidation::{
    BusConfig, Feed, Invalidation, InvalidationBus, Subscription, run_feed,
};
use psm_core::{Error, Result, StoreUrl, async_trait};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};

use crate::error::ErrorContext;

const BACKEND: &str = "postgres";

/// Settings of a [`PgBus`].
pub type PgBusConfig = BusConfig;

/// Invalidations over LISTEN/NOTIFY: publishing runs `SELECT pg_notify($1, $2)` on a pool of at
/// most two connections; each subscriber holds its own `PgListener`, pinged every
/// `ping_interval`, and reports `Interrupted` / `Resumed` around any reconnection.
///
/// ```no_run
/// # async fn demo() -> psm_core::Result<()> {
/// use std::sync::Arc;
/// let bus = Arc::new(psm_sql::PgBus::connect("postgres://postgres@127.0.0.1/test").await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PgBus {
    pool: PgPool,
    url: String,
    redacted: String,
    config: BusConfig,
}

impl std::fmt::Debug for PgBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBus")
            .field("url", &self.redacted)
            .field("config", &self.config)
            .finish()
    }
}

/// How the bus's driver errors map (psm-sql's one mapping).
fn errors(config: &BusConfig) -> ErrorContext {
    ErrorContext {
        backend: BACKEND,
        acquire_timeout: config.timeout,
        statement_timeout: None,
    }
}

fn timeout(operation: &'static str, after: Duration) -> Error {
    Error::Timeout {
        backend: BACKEND,
        operation,
        after,
    }
}

impl PgBus {
    /// Connects with the default settings.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, BusConfig::default()).await
    }

    /// Connects with `config` (its channel must be 1–63 bytes of `[A-Za-z0-9_.:-]`).
    pub async fn connect_with(url: &str, config: BusConfig) -> Result<Self> {
        config.validate()?;
        let redacted = StoreUrl::parse(url)?.redacted();
        let pool = tokio::time::timeout(
            config.timeout,
            PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(config.timeout)
                .connect(url),
        )
        .await
        .map_err(|_| timeout("bus connect", config.timeout))?
        .map_err(|e| errors(&config).map("bus connect", e))?;
        Ok(PgBus {
            pool,
            url: url.to_owned(),
            redacted,
            config,
        })
    }
}

/// A listening connection.
struct Listener(PgListener);

impl Listener {
    async fn open(url: &str, config: &BusConfig) -> Result<Self> {
        let opened = tokio::time::timeout(config.timeout, async {
            let mut listener = PgListener::connect(url).await?;
            listener.listen(&config.channel).await?;
            Ok::<_, sqlx::Error>(listener)
        })
        .await
        .map_err(|_| timeout("bus listen", config.timeout))?;
        opened
            .map(Listener)
            .map_err(|e| errors(config).map("bus listen", e))
    }
}

impl Feed for Listener {
    async fn recv(&mut self) -> Option<Invalidation> {
        match self.0.try_recv().await {
            Ok(Some(n)) => Some(Invalidation::decode(n.payload().as_bytes())),
            Ok(None) | Err(_) => None,
        }
    }

    async fn ping(&mut self) -> bool {
        sqlx::query("SELECT 1").execute(&mut self.0).await.is_ok()
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
        .map_err(|_| timeout("bus notify", self.config.timeout))?;
        sent.map(|_| ())
            .map_err(|e| errors(&self.config).map("bus notify", e))
    }

    async fn subscribe(&self) -> Result<Subscription> {
        let first = Listener::open(&self.url, &self.config).await?;
        let (out, sub) = Subscription::channel();
        let (url, config) = (self.url.clone(), self.config.clone());
        tokio::spawn(async move {
            let reopen = || Listener::open(&url, &config);
            run_feed(BACKEND, config.clone(), first, reopen, out).await;
        });
        Ok(sub)
    }
}
