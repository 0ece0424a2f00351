//! `run_feed`: the one subscriber loop of every network bus — forward messages, ping, and on a
//! lost connection report the gap and reconnect with bounded exponential backoff.

use std::future::Future;
use std::time::Duration;

use crate::error::Result;

use super::{BusConfig, BusEvent, Invalidation, SubscriptionSender};

/// First wait before a reconnection attempt (doubled per failure up to `max_backoff`).
const FIRST_BACKOFF: Duration = Duration::from_millis(50);

/// One live subscription connection of a bus.
pub trait Feed: Send {
    /// The next message; `None` when the connection is lost.
    fn recv(&mut self) -> impl Future<Output = Option<Invalidation>> + Send;

    /// One liveness probe; false when the connection is lost (it is bounded by the bus timeout).
    fn ping(&mut self) -> impl Future<Output = bool> + Send;
}

/// Drives a subscription until the subscriber goes away: forwards every message of `first`,
/// pings every `config.ping_interval`, and when the connection is lost sends
/// [`BusEvent::Interrupted`], reopens with `open` (waiting 50 ms, doubling up to
/// `config.max_backoff`), then sends [`BusEvent::Resumed`]. `bus` names it in logs.
pub async fn run_feed<F, O, Fut>(
    bus: &'static str,
    config: BusConfig,
    first: F,
    open: O,
    out: SubscriptionSender,
) where
    F: Feed,
    O: Fn() -> Fut + Send,
    Fut: Future<Output = Result<F>> + Send,
{
    let mut feed = Some(first);
    let mut backoff = FIRST_BACKOFF;
    loop {
        if let Some(mut live) = feed.take() {
            backoff = FIRST_BACKOFF;
            let mut ping = tokio::time::interval(config.ping_interval);
            ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = out.closed() => return,
                    msg = live.recv() => match msg {
                        Some(inv) => {
                            if !out.send(BusEvent::Invalidate(inv)).await {
                                return;
                            }
                        }
                        None => break,
                    },
                    _ = ping.tick() => {
                        let pong = tokio::time::timeout(config.timeout, live.ping()).await;
                        if !matches!(pong, Ok(true)) {
                            break;
                        }
                    }
                }
            }
            tracing::warn!(
                bus,
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
        match open().await {
            Ok(reopened) => {
                if !out.send(BusEvent::Resumed).await {
                    return;
                }
                feed = Some(reopened);
            }
            Err(e) => tracing::debug!(bus, error = %e, "resubscribe failed"),
        }
    }
}
