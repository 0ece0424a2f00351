//! `BusConfig`, the settings every network bus shares, and the rule for topic and channel names.

use std::time::Duration;

use crate::error::{Error, Field, Result, Rule};

use super::DEFAULT_CHANNEL;

/// Longest cache topic or bus channel name, in bytes.
pub const MAX_TOPIC_LEN: usize = 63;

/// Settings of a network bus (Redis pub/sub, PostgreSQL LISTEN/NOTIFY).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusConfig {
    /// Channel (default `psm_cache_invalidation`); every instance must use the same.
    pub channel: String,
    /// Limit on connecting, subscribing, publishing and each ping (default 2 s).
    pub timeout: Duration,
    /// How often the subscriber connection is pinged; a silent connection loss is noticed
    /// within this plus `timeout` (default 1 s).
    pub ping_interval: Duration,
    /// Longest wait between reconnection attempts (default 5 s).
    pub max_backoff: Duration,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            channel: DEFAULT_CHANNEL.to_owned(),
            timeout: Duration::from_secs(2),
            ping_interval: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl BusConfig {
    /// Checks the channel name (see [`validate_topic`]).
    pub fn validate(&self) -> Result<()> {
        validate_topic(&self.channel)
    }
}

/// Topics and channel names are 1–63 bytes of `[A-Za-z0-9_.:-]` (valid as a Redis channel and,
/// quoted, as a PostgreSQL identifier).
pub fn validate_topic(topic: &str) -> Result<()> {
    let field = Field::Option("cache_topic");
    if topic.is_empty() {
        return Err(Error::invalid(field, Rule::Empty));
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(Error::invalid(field, Rule::TooLong { max: MAX_TOPIC_LEN }));
    }
    if let Some((index, ch)) = topic
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
    {
        return Err(Error::invalid(
            field,
            Rule::ForbiddenChar {
                ch,
                index,
                allowed: "A-Z a-z 0-9 _ . : -",
            },
        ));
    }
    Ok(())
}
