//! The invalidation bus: psm-core's [`InvalidationBus`] trait and wire format, the in-process
//! [`LocalBus`], and (by feature) the network buses that live beside their backends: `RedisBus`
//! from psm-redis (feature `redis`, pub/sub) and `PgBus` from psm-sql (feature `postgres`,
//! LISTEN/NOTIFY).

mod local;

pub use local::LocalBus;
pub use psm_core::invalidation::{
    BusConfig, BusEvent, DEFAULT_CHANNEL, Invalidation, InvalidationBus, MAX_KEY_LEN,
    SUBSCRIPTION_CAPACITY, Subscription, SubscriptionSender,
};
#[cfg(feature = "redis")]
pub use psm_redis::{RedisBus, RedisBusConfig};
#[cfg(feature = "postgres")]
pub use psm_sql::{PgBus, PgBusConfig};
