//! `Invalidation` and its wire form: a small JSON object, decoded fail-safe (anything malformed
//! means "evict everything").

use serde::{Deserialize, Serialize};

/// Longest key sent as such; a longer key is published as "the whole topic" instead.
pub const MAX_KEY_LEN: usize = 1024;

/// One invalidation: evict `key` (or every key) of `topic` (or of every topic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invalidation {
    /// Instance id of the cache that published it.
    #[serde(rename = "o")]
    pub origin: String,
    /// Cache topic; `None` means every topic.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Key to evict; `None` means every key of the topic.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl Invalidation {
    /// Evict `key` of `topic`, published by `origin`.
    pub fn key(origin: &str, topic: &str, key: &str) -> Self {
        Invalidation {
            origin: origin.to_owned(),
            topic: Some(topic.to_owned()),
            key: (key.len() <= MAX_KEY_LEN).then(|| key.to_owned()),
        }
    }

    /// Evict every key of `topic`, published by `origin`.
    pub fn topic(origin: &str, topic: &str) -> Self {
        Invalidation {
            origin: origin.to_owned(),
            topic: Some(topic.to_owned()),
            key: None,
        }
    }

    /// The message that stands for an undecodable one: evict everything, everywhere.
    pub fn everything() -> Self {
        Invalidation {
            origin: String::new(),
            topic: None,
            key: None,
        }
    }

    /// True when a cache with this `topic` must act on it.
    pub fn concerns(&self, topic: &str) -> bool {
        self.topic.as_deref().is_none_or(|t| t == topic)
    }

    /// The JSON text sent on the wire.
    pub fn encode(&self) -> String {
        // Serialising three strings cannot fail; fall back to "evict everything" regardless.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"o\":\"\"}"))
    }

    /// Decodes a message; anything malformed decodes to [`Invalidation::everything`], so a
    /// corrupted message can only make caches forget, never keep a stale entry.
    pub fn decode(payload: &[u8]) -> Self {
        serde_json::from_slice(payload).unwrap_or_else(|_| Self::everything())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fail_safe_decoding() {
        let inv = Invalidation::key("i1", "sessions", "s-1");
        assert_eq!(Invalidation::decode(inv.encode().as_bytes()), inv);
        let all = Invalidation::decode(b"not json");
        assert_eq!(all, Invalidation::everything());
        assert!(all.concerns("sessions") && all.concerns("permissions"));
        assert!(!inv.concerns("permissions"));
        let long = Invalidation::key("i1", "sessions", &"k".repeat(MAX_KEY_LEN + 1));
        assert_eq!(long.key, None, "an over-long key widens to the whole topic");
    }
}
