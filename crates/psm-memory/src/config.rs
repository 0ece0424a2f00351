//! `MemoryConfig`: the memory backend's settings, from code or from a `memory://?...` URL.

use std::time::Duration;

use psm_core::{DEFAULT_TTL, Error, Field, Rule, SharedClock};
use psm_core::{Limits, Result, StoreUrl};

/// Settings of a [`MemoryStore`](crate::MemoryStore).
///
/// URL options: `max_sessions` (0 = unbounded, the default), `cleanup_interval` (`60s`; `0`
/// turns the background sweep off), `default_ttl` (`1h`; `0` = no expiry), `max_permissions`
/// (10,000), `shards` (a power of two, default 64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryConfig {
    /// Most live sessions held at once; a new session beyond it is refused (`None`: unbounded).
    pub max_sessions: Option<u64>,
    /// How often the background task removes expired sessions (`None`: never; expired sessions
    /// are still invisible, only their memory is kept until `cleanup_expired_sessions`).
    pub cleanup_interval: Option<Duration>,
    /// TTL of sessions stored with `Expiry::Default` (`None`: they never expire).
    pub default_ttl: Option<Duration>,
    /// Bounds on each session.
    pub limits: Limits,
    /// Number of lock shards (rounded up to a power of two, 1 to 4096).
    pub shards: usize,
    /// Where the store reads the time (the system clock unless a test injects another).
    pub clock: SharedClock,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            max_sessions: None,
            cleanup_interval: Some(Duration::from_secs(60)),
            default_ttl: Some(DEFAULT_TTL),
            limits: Limits::default(),
            shards: 64,
            clock: SharedClock::system(),
        }
    }
}

impl MemoryConfig {
    /// Reads the options of a `memory://` URL; unknown options are errors.
    pub fn from_url(mut url: StoreUrl) -> Result<Self> {
        if url.scheme() != "memory" {
            return Err(url.invalid("the memory backend needs a memory:// URL"));
        }
        let mut config = MemoryConfig::default();
        if let Some(n) = url.take_u64("max_sessions")? {
            config.max_sessions = (n > 0).then_some(n);
        }
        if let Some(d) = url.take_duration("cleanup_interval")? {
            config.cleanup_interval = (!d.is_zero()).then_some(d);
        }
        if let Some(d) = url.take_duration("default_ttl")? {
            config.default_ttl = (!d.is_zero()).then_some(d);
        }
        if let Some(n) = url.take_usize("max_permissions")? {
            config.limits.max_permissions = n;
        }
        if let Some(n) = url.take_usize("shards")? {
            config.shards = n;
        }
        url.finish()?;
        config.validate()?;
        Ok(config)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !(1..=4096).contains(&self.shards) {
            return Err(Error::invalid(
                Field::Option("shards"),
                Rule::OutOfRange {
                    allowed: "1 to 4096",
                },
            ));
        }
        if self.limits.max_permissions == 0 {
            return Err(Error::invalid(
                Field::Option("max_permissions"),
                Rule::OutOfRange {
                    allowed: "at least 1",
                },
            ));
        }
        if let Some(ttl) = self.default_ttl {
            psm_core::validate::ttl(ttl)?;
        }
        Ok(())
    }
}
