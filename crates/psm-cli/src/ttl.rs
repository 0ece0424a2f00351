//! Durations on the command line: `3600`, `90s`, `15m`, `2h`, `7d`.

use std::time::Duration;

/// The longest TTL accepted (ten years), so arithmetic on timestamps cannot overflow.
const MAX_SECONDS: u64 = 10 * 365 * 24 * 3600;

/// Parses a TTL: whole seconds, or a number with `s`, `m`, `h` or `d`.
pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (examples: 3600, 90s, 15m, 2h, 7d)"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => {
            return Err(format!(
                "unknown duration unit `{other}` (use s, m, h or d)"
            ));
        }
    };
    let secs = n
        .checked_mul(factor)
        .filter(|&v| v <= MAX_SECONDS)
        .ok_or_else(|| format!("duration `{s}` is longer than ten years"))?;
    if secs == 0 {
        return Err("a TTL must be at least one second".to_owned());
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_seconds_and_every_unit() {
        assert_eq!(parse_ttl("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(604_800)));
    }

    #[test]
    fn rejects_zero_junk_units_and_overflow() {
        assert!(parse_ttl("0").is_err());
        assert!(parse_ttl("").is_err());
        assert!(parse_ttl("5w").is_err());
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("-5").is_err());
        assert!(parse_ttl("99999999999999999999d").is_err());
        assert!(parse_ttl("4000d").is_err());
    }
}
