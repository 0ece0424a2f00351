//! The one RFC 3339 parser of the workspace for relationship expirations (chrono's): the
//! engine validates and evaluates expirations with it, and psm-sql stores its milliseconds.

/// Milliseconds since the Unix epoch of an RFC 3339 date-time (`Z` or `±hh:mm` offset,
/// optional fraction, truncated to milliseconds); `None` when the text is not one.
pub fn expiration_millis(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::expiration_millis;

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
}
