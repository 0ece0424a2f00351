//! The one RFC 3339 parser of the workspace for relationship expirations (chrono's), and the
//! [`Expiration`] type it produces: a relationship's expiration is parsed once, when the
//! relationship is parsed or read from a store, and evaluated as an instant afterwards.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};

/// Milliseconds since the Unix epoch of an RFC 3339 date-time (`Z` or `±hh:mm` offset,
/// optional fraction, truncated to milliseconds); `None` when the text is not one.
pub fn expiration_millis(s: &str) -> Option<i64> {
    Expiration::parse(s).ok().map(|e| e.millis())
}

/// When a relationship stops granting anything: an instant, kept with the RFC 3339 text it was
/// written as (so a relationship prints back as it was given). Ordered by instant, then text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Expiration {
    at: DateTime<Utc>,
    text: Arc<str>,
}

impl Expiration {
    /// Parses an RFC 3339 date-time (`Z` or `±hh:mm` offset, optional fraction). The error is
    /// [`Error::RelationshipSyntax`] naming the expiration and the rule.
    pub fn parse(text: &str) -> Result<Self> {
        match DateTime::parse_from_rfc3339(text) {
            Ok(t) => Ok(Self {
                at: t.with_timezone(&Utc),
                text: Arc::from(text),
            }),
            Err(_) => Err(Error::RelationshipSyntax {
                input: crate::error::clip(text),
                reason: format!(
                    "expiration `{}` is not an RFC 3339 timestamp",
                    crate::error::clip(text)
                ),
            }),
        }
    }

    /// The instant, in UTC.
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// Milliseconds since the Unix epoch (truncated).
    pub fn millis(&self) -> i64 {
        self.at.timestamp_millis()
    }

    /// The text it was written as.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether it has passed at `now` (a relationship expiring exactly now has expired).
    pub fn passed(&self, now: DateTime<Utc>) -> bool {
        self.at <= now
    }
}

impl fmt::Display for Expiration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Expiration {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::{Expiration, expiration_millis};
    use crate::error::Error;

    #[test]
    fn parses_utc_offsets_and_fractions() {
        assert_eq!(expiration_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(expiration_millis("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(
            expiration_millis("2000-03-01T00:00:00Z"),
            Some(951_868_800_000)
        );
        assert_eq!(
            expiration_millis("2000-03-01T01:00:00+01:00"),
            Some(951_868_800_000)
        );
        assert_eq!(
            expiration_millis("2024-02-29T23:59:59.123456Z"),
            Some(1_709_251_199_123)
        );
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for bad in [
            "",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00+1:00",
            "2024-01-01T00:00:00.Z",
            "2024-13-01T00:00:00Z",
        ] {
            assert_eq!(expiration_millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_expiration_keeps_its_text_and_compares_by_instant() {
        let z = Expiration::parse("2000-03-01T00:00:00Z").unwrap();
        let plus = Expiration::parse("2000-03-01T01:00:00+01:00").unwrap();
        assert_eq!(z.at(), plus.at());
        assert_eq!(plus.to_string(), "2000-03-01T01:00:00+01:00");
        assert_ne!(z, plus, "the text is part of the identity");
        let later = Expiration::parse("2000-03-01T00:00:01Z").unwrap();
        assert!(z < later && plus < later);
        assert!(z.passed(later.at()) && z.passed(z.at()) && !later.passed(z.at()));
    }

    #[test]
    fn a_bad_expiration_is_a_syntax_error_naming_it() {
        let e = "tomorrow".parse::<Expiration>().unwrap_err();
        assert!(
            matches!(&e, Error::RelationshipSyntax { reason, .. } if reason.contains("`tomorrow`") && reason.contains("RFC 3339")),
            "{e}"
        );
    }
}
