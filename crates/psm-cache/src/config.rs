//! `CacheConfig`: time to live, idle time, size bound, negative-entry TTL and bus topic of a cache.

use std::time::Duration;

use psm_core::invalidation::validate_topic;
use psm_core::{Error, Field, Result, Rule, StoreUrl};

/// Default time an entry is served before it is fetched again.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(30);
/// Default time a missing session is remembered as missing.
pub const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(1);
/// Default bound on the number of cached entries.
pub const DEFAULT_MAX_ENTRIES: u64 = 10_000;

/// Settings of a [`CachedStore`](crate::CachedStore) or [`CachedProvider`](crate::CachedProvider).
///
/// | field | URL option | default | meaning |
/// |---|---|---|---|
/// | `ttl` | `cache_ttl` | 30 s | an entry is fetched again after this long, however often it is read |
/// | `idle` | `cache_idle` | none | an entry unread for this long is dropped |
/// | `max_entries` | `cache_max_entries` | 10,000 | size bound; least useful entries are evicted beyond it |
/// | `negative_ttl` | `cache_negative_ttl` | 1 s | how long "no such session" is remembered (`0` disables) |
/// | `topic` | `cache_topic` | `sessions` / `permissions` | bus topic: caches of one kind share one topic |
///
/// Whatever the TTL, a session is never served past its own `expires_at`, and every write that
/// passes through the cache evicts the entry here and, through the bus, everywhere.
///
/// ```
/// use psm_cache::CacheConfig;
/// use std::time::Duration;
/// let config = CacheConfig::default().ttl(Duration::from_secs(5)).max_entries(1_000);
/// config.validate().unwrap();
/// assert!(CacheConfig::default().max_entries(0).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Time to live of an entry.
    pub ttl: Duration,
    /// Time to idle of an entry (`None`: entries are not dropped for being unread).
    pub idle: Option<Duration>,
    /// Most entries held.
    pub max_entries: u64,
    /// Time a negative ("no such session") entry lives; zero disables negative caching.
    pub negative_ttl: Duration,
    /// Bus topic (`None`: `sessions` for stores, `permissions` for providers).
    pub topic: Option<String>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            ttl: DEFAULT_CACHE_TTL,
            idle: None,
            max_entries: DEFAULT_MAX_ENTRIES,
            negative_ttl: DEFAULT_NEGATIVE_TTL,
            topic: None,
        }
    }
}

impl CacheConfig {
    /// Sets the time to live.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the time to idle.
    pub fn idle(mut self, idle: Duration) -> Self {
        self.idle = Some(idle);
        self
    }

    /// Sets the size bound.
    pub fn max_entries(mut self, max_entries: u64) -> Self {
        self.max_entries = max_entries;
        self
    }

    /// Sets the negative-entry TTL (`Duration::ZERO` disables negative caching).
    pub fn negative_ttl(mut self, negative_ttl: Duration) -> Self {
        self.negative_ttl = negative_ttl;
        self
    }

    /// Sets the bus topic.
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// Takes the `cache_*` options of the table above from `url` (the caller then calls
    /// [`StoreUrl::finish`]). Returns `None` when the URL names no cache option.
    pub fn take_from_url(url: &mut StoreUrl) -> Result<Option<Self>> {
        let mut config = CacheConfig::default();
        let mut any = false;
        if let Some(ttl) = url.take_duration("cache_ttl")? {
            config.ttl = ttl;
            any = true;
        }
        if let Some(idle) = url.take_duration("cache_idle")? {
            config.idle = (!idle.is_zero()).then_some(idle);
            any = true;
        }
        if let Some(max) = url.take_u64("cache_max_entries")? {
            config.max_entries = max;
            any = true;
        }
        if let Some(neg) = url.take_duration("cache_negative_ttl")? {
            config.negative_ttl = neg;
            any = true;
        }
        if let Some(topic) = url.take_string("cache_topic")? {
            config.topic = Some(topic);
            any = true;
        }
        if any {
            config.validate()?;
        }
        Ok(any.then_some(config))
    }

    /// Checks every field; errors name the option and the rule.
    pub fn validate(&self) -> Result<()> {
        let range = |name: &'static str, d: Duration, allowed: &'static str| {
            if d < Duration::from_millis(1) || d > psm_core::validate::MAX_TTL {
                Err(Error::invalid(
                    Field::Option(name),
                    Rule::OutOfRange { allowed },
                ))
            } else {
                Ok(())
            }
        };
        range("cache_ttl", self.ttl, "1 ms to 100 years")?;
        if let Some(idle) = self.idle {
            range("cache_idle", idle, "1 ms to 100 years")?;
        }
        if !self.negative_ttl.is_zero() {
            range(
                "cache_negative_ttl",
                self.negative_ttl,
                "0 (off) or 1 ms to 100 years",
            )?;
        }
        if self.max_entries == 0 {
            return Err(Error::invalid(
                Field::Option("cache_max_entries"),
                Rule::OutOfRange {
                    allowed: "at least 1",
                },
            ));
        }
        if let Some(topic) = &self.topic {
            validate_topic(topic)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn url_options_are_taken_and_validated() {
        let mut url = StoreUrl::parse(
            "redis://h?cache_ttl=5s&cache_idle=1s&cache_max_entries=7&cache_negative_ttl=0&x=1",
        )
        .unwrap();
        let config = CacheConfig::take_from_url(&mut url).unwrap().unwrap();
        assert_eq!(config.ttl, Duration::from_secs(5));
        assert_eq!(config.idle, Some(Duration::from_secs(1)));
        assert_eq!(config.max_entries, 7);
        assert!(config.negative_ttl.is_zero());
        assert_eq!(
            url.remaining_options().count(),
            1,
            "foreign options are left"
        );
        let mut none = StoreUrl::parse("redis://h").unwrap();
        assert!(CacheConfig::take_from_url(&mut none).unwrap().is_none());
        let mut bad = StoreUrl::parse("redis://h?cache_ttl=0").unwrap();
        let err = CacheConfig::take_from_url(&mut bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cache_ttl"), "{err}");
    }

    #[test]
    fn topics_are_restricted() {
        assert!(validate_topic("psm:sessions").is_ok());
        for bad in ["", "a b", "x\"y", &"t".repeat(64)] {
            assert!(validate_topic(bad).is_err(), "{bad:?}");
        }
    }
}
