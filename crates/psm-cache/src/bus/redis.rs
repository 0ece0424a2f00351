//! `RedisBus`: invalidations over Redis pub/sub, with a pinged subscriber connection that
//! reconnects (and reports the gap) when it drops.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use psm_core::{Error, Result, StoreUrl};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink, PubSubStream};

use super::{
    BusEvent, DEFAULT_CHANNEL, Invalidation, InvalidationBus, Subscription, SubscriptionSender,
};
use crate::config::validate_topic;

const BACKEND: &str = "redis";

/// Settings of a [`RedisBus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisBusConfig {
    /// Pub/sub channel (default `psm_cache_invalidation`); every instance must use the same.
    pub channel: String,
    /// Limit on connecting, subscribing, publishing and each ping (default 2 s).
    pub timeout: Duration,
    /// How often the subscriber connection is pinged; a silent connection loss is noticed
    /// within this plus `timeout` (default 1 s).
    pub ping_interval: Duration,
    /// Longest wait between reconnection attempts (default 5 s).
    pub max_backoff: Duration,
}

impl Default for RedisBusConfig {
    fn default() -> Self {
        RedisBusConfig {
            channel: DEFAULT_CHANNEL.to_owned(),
            timeout: Duration::from_secs(2),
            ping_interval: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Invalidations over Redis pub/sub: `PUBLISH <channel> <json>` on a self-healing multiplexed
/// connection; each subscriber holds its own pub/sub connection, pinged every
/// `ping_interval`, and reports [`BusEvent::Interrupted`] / [`BusEvent::Resumed`] around any
/// reconnection (messages published in between are lost, so the cache clears itself).
///
/// ```no_run
/// # async fn demo() -> psm_core::Result<()> {
/// use std::sync::Arc;
/// let bus = Arc::new(psm_cache::RedisBus::connect("redis://127.0.0.1:6379").await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisBus {
    client: redis::Client,
    publisher: ConnectionManager,
    config: RedisBusConfig,
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
        Self::connect_with(url, RedisBusConfig::default()).await
    }

    /// Connects with `config` (its channel must be 1–63 bytes of `[A-Za-z0-9_.:-]`).
    pub async fn connect_with(url: &str, config: RedisBusConfig) -> Result<Self> {
        validate_topic(&config.channel)?;
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
        .map_err(|_| timeout("connect", config.timeout))?
        .map_err(driver)?;
        Ok(RedisBus {
            client,
            publisher,
            config,
            url: redacted,
        })
    }

    async fn open(
        client: &redis::Client,
        config: &RedisBusConfig,
    ) -> Result<(PubSubSink, PubSubStream)> {
        let opened = tokio::time::timeout(config.timeout, async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(config.channel.as_str()).await?;
            Ok::<_, redis::RedisError>(pubsub.split())
        })
        .await
        .map_err(|_| timeout("subscribe", config.timeout))?;
        opened.map_err(driver)
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
        let sent = tokio::time::timeout(
            self.config.timeout,
            redis::cmd("PUBLISH")
                .arg(self.config.channel.as_str())
                .arg(payload)
                .query_async::<i64>(&mut conn),
        )
        .await
        .map_err(|_| timeout("publish", self.config.timeout))?;
        sent.map(|_| ()).map_err(driver)
    }

    async fn subscribe(&self) -> Result<Subscription> {
        let connection = Self::open(&self.client, &self.config).await?;
        let (out, sub) = Subscription::channel();
        tokio::spawn(run(
            self.client.clone(),
            self.config.clone(),
            connection,
            out,
        ));
        Ok(sub)
    }
}

/// The subscriber task: forwards messages, pings, and reconnects with bounded backoff until
/// the subscriber goes away.
async fn run(
    client: redis::Client,
    config: RedisBusConfig,
    first: (PubSubSink, PubSubStream),
    out: SubscriptionSender,
) {
    let mut connection = Some(first);
    let mut backoff = Duration::from_millis(50);
    loop {
        if let Some((mut sink, mut stream)) = connection.take() {
            backoff = Duration::from_millis(50);
            let mut ping = tokio::time::interval(config.ping_interval);
            ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = out.closed() => return,
                    msg = stream.next() => match msg {
                        Some(msg) => {
                            let inv = Invalidation::decode(msg.get_payload_bytes());
                            if !out.send(BusEvent::Invalidate(inv)).await {
                                return;
                            }
                        }
                        None => break,
                    },
                    _ = ping.tick() => {
                        let pong = tokio::time::timeout(config.timeout, sink.ping::<redis::Value>()).await;
                        if !matches!(pong, Ok(Ok(_))) {
                            break;
                        }
                    }
                }
            }
            tracing::warn!(
                bus = BACKEND,
                "invalidation subscription lost; cache bypassed until it is back"
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
        match RedisBus::open(&client, &config).await {
            Ok(c) => {
                if !out.send(BusEvent::Resumed).await {
                    return;
                }
                connection = Some(c);
            }
            Err(e) => tracing::debug!(bus = BACKEND, error = %e, "resubscribe failed"),
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

fn driver(e: redis::RedisError) -> Error {
    if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
        Error::Connection {
            backend: BACKEND,
            message: e.to_string(),
        }
    } else {
        Error::backend(BACKEND, "invalidation bus", e)
    }
}
