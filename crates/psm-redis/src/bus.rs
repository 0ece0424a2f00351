//! `RedisBus`: cache invalidations over Redis pub/sub, with a pinged subscriber connection that
//! reconnects (and reports the gap) through psm-core's one reconnect loop.

use std::time::Duration;

use futures_util::StreamExt;
use psm_core::async_trait;
use psm_core::invalidation::{
    BusConfig, Feed, Invalidation, InvalidationBus, Subscription, run_feed,
};
use psm_core::{Error, Result, StoreUrl};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink, PubSubStream};

use crate::conn::{BACKEND, map_error, timed_out};

/// Settings of a [`RedisBus`].
pub type RedisBusConfig = BusConfig;

/// Invalidations over Redis pub/sub: `PUBLISH <channel> <json>` on a self-healing multiplexed
/// connection; each subscriber holds its own pub/sub connection, pinged every
/// `ping_interval`, and reports `Interrupted` / `Resumed` around any reconnection (messages
/// published in between are lost, so the cache clears itself).
///
/// ```no_run
/// # async fn demo() -> psm_core::Result<()> {
/// use std::sync::Arc;
/// let bus = Arc::new(psm_redis::RedisBus::connect("redis://127.0.0.1:6379").await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisBus {
    client: redis::Client,
    publisher: ConnectionManager,
    config: BusConfig,
    url: String,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("url", &self.url)
            .field("config", &self.config)
            .finish()
    }
}

impl RedisBus {
    /// Connects with the default settings.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, BusConfig::default()).await
    }

    /// Connects with `config` (its channel must be 1–63 bytes of `[A-Za-z0-9_.:-]`).
    pub async fn connect_with(url: &str, config: BusConfig) -> Result<Self> {
        config.validate()?;
        let redacted = StoreUrl::parse(url)?.redacted();
        let client = redis::Client::open(url).map_err(|e| Error::InvalidUrl {
            url: redacted.clone(),
            reason: e.to_string(),
        })?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(2);
        let publisher = tokio::time::timeout(
            config.timeout,
            ConnectionManager::new_with_config(client.clone(), manager_config),
        )
        .await
        .map_err(|_| timed_out("bus connect", config.timeout))?
        .map_err(|e| map_error(e, "bus connect", config.timeout))?;
        Ok(RedisBus {
            client,
            publisher,
            config,
            url: redacted,
        })
    }
}

/// A subscribed pub/sub connection.
struct PubSub {
    sink: PubSubSink,
    stream: PubSubStream,
}

impl PubSub {
    async fn open(client: &redis::Client, config: &BusConfig) -> Result<Self> {
        let opened = tokio::time::timeout(config.timeout, async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(config.channel.as_str()).await?;
            Ok::<_, redis::RedisError>(pubsub.split())
        })
        .await
        .map_err(|_| timed_out("bus subscribe", config.timeout))?;
        let (sink, stream) = opened.map_err(|e| map_error(e, "bus subscribe", config.timeout))?;
        Ok(PubSub { sink, stream })
    }
}

impl Feed for PubSub {
    async fn recv(&mut self) -> Option<Invalidation> {
        let msg = self.stream.next().await?;
        Some(Invalidation::decode(msg.get_payload_bytes()))
    }

    async fn ping(&mut self) -> bool {
        self.sink.ping::<redis::Value>().await.is_ok()
    }
}

#[async_trait]
impl InvalidationBus for RedisBus {
    fn name(&self) -> &'static str {
        BACKEND
    }

    #[tracing::instrument(skip_all, level = "debug", fields(bus = BACKEND))]
    async fn publish(&self, invalidation: &Invalidation) -> Result<()> {
        let mut conn = self.publisher.clone();
        let payload = invalidation.encode();
        let after: Duration = self.config.timeout;
        let sent = tokio::time::timeout(
            after,
            redis::cmd("PUBLISH")
                .arg(self.config.channel.as_str())
                .arg(payload)
                .query_async::<i64>(&mut conn),
        )
        .await
        .map_err(|_| timed_out("bus publish", after))?;
        sent.map(|_| ())
            .map_err(|e| map_error(e, "bus publish", after))
    }

    async fn subscribe(&self) -> Result<Subscription> {
        let first = PubSub::open(&self.client, &self.config).await?;
        let (out, sub) = Subscription::channel();
        let (client, config) = (self.client.clone(), self.config.clone());
        tokio::spawn(async move {
            let reopen = || PubSub::open(&client, &config);
            run_feed(BACKEND, config.clone(), first, reopen, out).await;
        });
        Ok(sub)
    }
}
