//! The one duration syntax of psm — CLI flags, URL options, HTTP fields and the library all read
//! durations here: plain seconds (`3600`, `1.5`), a number with a unit (`90s`, `15m`, `2h`, `7d`,
//! `2w`, `250ms`), fractions (`1.5h`, `0.5m`) and compound spans (`1h30m`, `1h 30m`).
//!
//! Unit names are [`humantime`]'s (`ns`, `us`, `ms`, `s`/`sec`/`seconds`, `m`/`min`/`minutes`,
//! `h`/`hr`/`hours`, `d`/`days`, `w`/`weeks`, `M`/`months`, `y`/`years`); this module adds what
//! humantime lacks: fractions on any unit and bare numbers as seconds. Every duration is capped at
//! [`MAX_TTL`] (100 years) — the one limit the CLI, the HTTP API and the library share.
//!
//! ```
//! use psm_core::duration::{parse_duration, parse_ttl};
//! use std::time::Duration;
//! assert_eq!(parse_ttl("1.5h")?, Duration::from_secs(5_400));
//! assert_eq!(parse_ttl("0.5m")?, Duration::from_secs(30));
//! assert_eq!(parse_ttl("2w")?, Duration::from_secs(1_209_600));
//! assert_eq!(parse_ttl("1h30m")?, Duration::from_secs(5_400));
//! assert_eq!(parse_ttl("3600")?, Duration::from_secs(3_600));
//! assert_eq!(parse_duration("250ms")?, Duration::from_millis(250));
//! assert!(parse_ttl("0").is_err()); // a TTL is at least 1 ms; a plain duration may be zero
//! assert!(parse_ttl("101y").is_err());
//! # Ok::<(), psm_core::duration::DurationError>(())
//! ```

use std::time::Duration;

pub use crate::validate::MAX_TTL;

/// Longest duration text accepted, in bytes (bounds the work of parsing).
pub const MAX_DURATION_TEXT: usize = 64;
/// Most digits after a decimal point (nanosecond precision on seconds).
const MAX_FRACTION_DIGITS: u32 = 9;
const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Why a duration text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// The text is empty (or only spaces).
    #[error("a duration must not be empty (examples: 3600, 90s, 1.5h, 2w, 1h30m)")]
    Empty,
    /// The text is longer than [`MAX_DURATION_TEXT`] bytes.
    #[error("a duration is at most {max} bytes")]
    TooLong {
        /// The limit in bytes.
        max: usize,
    },
    /// The text is not a number followed by a unit at byte `index`.
    #[error("{text:?} is not a duration at byte {index} (examples: 3600, 90s, 1.5h, 2w, 1h30m)")]
    Malformed {
        /// The rejected text.
        text: String,
        /// Byte offset where reading stopped.
        index: usize,
    },
    /// A unit humantime does not know.
    #[error("unknown duration unit {unit:?} (use ms, s, m, h, d, w, M or y)")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
    },
    /// More than nine digits after the decimal point.
    #[error("{text:?} has more than {MAX_FRACTION_DIGITS} digits after the decimal point")]
    TooPrecise {
        /// The rejected text.
        text: String,
    },
    /// Longer than [`MAX_TTL`].
    #[error("duration {text:?} is longer than the limit of 100 years")]
    AboveMaximum {
        /// The rejected text.
        text: String,
    },
    /// A TTL of zero (or under a millisecond): a session would expire as it is written.
    #[error("a TTL must be at least 1 ms, got {text:?}")]
    BelowMinimum {
        /// The rejected text.
        text: String,
    },
}

/// Parses a duration from zero up to [`MAX_TTL`]; see the [module docs](self) for the syntax.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationError::Empty);
    }
    if trimmed.len() > MAX_DURATION_TEXT {
        return Err(DurationError::TooLong {
            max: MAX_DURATION_TEXT,
        });
    }
    check_precision(trimmed)?;
    let mut total: u128 = 0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let index = trimmed.len() - rest.len();
        let malformed = || DurationError::Malformed {
            text: trimmed.to_owned(),
            index,
        };
        let (number, after_number) = split_number(rest).ok_or_else(malformed)?;
        let after_number = after_number.trim_start();
        let unit_len = after_number
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after_number.len());
        let (unit, after_unit) = after_number.split_at(unit_len);
        if unit.is_empty() && !(index == 0 && after_unit.is_empty()) {
            // A bare number is seconds only when it is the whole text.
            return Err(malformed());
        }
        let unit_nanos = unit_nanos(unit)?;
        let nanos = number.scale(unit_nanos).ok_or_else(|| above(trimmed))?;
        total = total.checked_add(nanos).ok_or_else(|| above(trimmed))?;
        rest = after_unit.trim_start();
    }
    if total > MAX_TTL.as_nanos() {
        return Err(above(trimmed));
    }
    let secs = u64::try_from(total / NANOS_PER_SEC).map_err(|_| above(trimmed))?;
    let nanos = u32::try_from(total % NANOS_PER_SEC).map_err(|_| above(trimmed))?;
    Ok(Duration::new(secs, nanos))
}

/// Parses a time to live: a duration of at least 1 ms and at most [`MAX_TTL`], the same range
/// [`validate::ttl`](crate::validate::ttl) enforces on every write.
pub fn parse_ttl(text: &str) -> Result<Duration, DurationError> {
    let ttl = parse_duration(text)?;
    if ttl < Duration::from_millis(1) {
        return Err(DurationError::BelowMinimum {
            text: text.trim().to_owned(),
        });
    }
    Ok(ttl)
}

fn above(text: &str) -> DurationError {
    DurationError::AboveMaximum {
        text: text.to_owned(),
    }
}

/// A decimal number as integer digits and fraction digits.
struct Decimal<'a> {
    whole: &'a str,
    fraction: &'a str,
}

impl Decimal<'_> {
    /// `self × unit_nanos`, rounded down to whole nanoseconds; `None` on overflow.
    fn scale(&self, unit_nanos: u128) -> Option<u128> {
        let digits = self.fraction.len() as u32;
        let mut mantissa: u128 = 0;
        for b in self.whole.bytes().chain(self.fraction.bytes()) {
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(u128::from(b - b'0'))?;
        }
        Some(mantissa.checked_mul(unit_nanos)? / 10u128.pow(digits))
    }
}

/// Splits `digits[.digits]` off the front of `s`.
fn split_number(s: &str) -> Option<(Decimal<'_>, &str)> {
    let whole_len = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if whole_len == 0 {
        return None;
    }
    let (whole, rest) = s.split_at(whole_len);
    let Some(after_dot) = rest.strip_prefix('.') else {
        return Some((
            Decimal {
                whole,
                fraction: "",
            },
            rest,
        ));
    };
    let fraction_len = after_dot
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after_dot.len());
    if fraction_len == 0 {
        return None;
    }
    let (fraction, rest) = after_dot.split_at(fraction_len);
    Some((Decimal { whole, fraction }, rest))
}

/// The length of one `unit` in nanoseconds, by humantime's unit table (empty = seconds).
fn unit_nanos(unit: &str) -> Result<u128, DurationError> {
    if unit.is_empty() {
        return Ok(NANOS_PER_SEC);
    }
    humantime::parse_duration(&format!("1{unit}"))
        .map(|d| d.as_nanos())
        .map_err(|_| DurationError::UnknownUnit {
            unit: unit.to_owned(),
        })
}

/// Rejects more fraction digits than nanoseconds can carry, before any arithmetic.
fn check_precision(text: &str) -> Result<(), DurationError> {
    let mut rest = text;
    while let Some(dot) = rest.find('.') {
        let after = &rest[dot + 1..];
        let digits = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        if digits > MAX_FRACTION_DIGITS as usize {
            return Err(DurationError::TooPrecise {
                text: text.to_owned(),
            });
        }
        rest = after;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Result<Duration, DurationError> {
        Ok(Duration::from_secs(s))
    }

    #[test]
    fn plain_seconds_and_every_unit() {
        assert_eq!(parse_ttl("3600"), secs(3600));
        assert_eq!(parse_ttl(" 90s "), secs(90));
        assert_eq!(parse_ttl("15m"), secs(900));
        assert_eq!(parse_ttl("2h"), secs(7200));
        assert_eq!(parse_ttl("7d"), secs(604_800));
        assert_eq!(parse_ttl("2w"), secs(1_209_600));
        assert_eq!(parse_ttl("1y"), secs(31_557_600));
        assert_eq!(parse_ttl("3 hours"), secs(10_800));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn fractions_as_the_python_library_reads_them() {
        assert_eq!(parse_ttl("1.5h"), secs(5_400));
        assert_eq!(parse_ttl("0.5m"), secs(30));
        assert_eq!(parse_ttl("1.5"), Ok(Duration::from_millis(1_500)));
        assert_eq!(parse_ttl("0.25s"), Ok(Duration::from_millis(250)));
        assert_eq!(
            parse_duration("0.000000001h"),
            Ok(Duration::from_nanos(3_600))
        );
    }

    #[test]
    fn compound_spans_add_up() {
        assert_eq!(parse_ttl("1h30m"), secs(5_400));
        assert_eq!(parse_ttl("1h 30m 15s"), secs(5_415));
        assert_eq!(parse_ttl("1w2d"), secs(777_600));
        assert_eq!(parse_ttl("1.5h30m"), secs(7_200));
    }

    #[test]
    fn zero_is_a_duration_but_not_a_ttl() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(matches!(
            parse_ttl("0"),
            Err(DurationError::BelowMinimum { .. })
        ));
        assert!(matches!(
            parse_ttl("0.5ms"),
            Err(DurationError::BelowMinimum { .. })
        ));
        assert_eq!(parse_ttl("1ms"), Ok(Duration::from_millis(1)));
    }

    #[test]
    fn one_maximum_for_every_caller() {
        assert_eq!(parse_ttl("100y"), Ok(MAX_TTL));
        assert_eq!(parse_ttl("36525d"), Ok(MAX_TTL));
        assert!(matches!(
            parse_ttl("101y"),
            Err(DurationError::AboveMaximum { .. })
        ));
        assert!(matches!(
            parse_ttl("99999999999999999999d"),
            Err(DurationError::AboveMaximum { .. })
        ));
        assert!(matches!(
            parse_ttl(&format!("{}", MAX_TTL.as_secs() + 1)),
            Err(DurationError::AboveMaximum { .. })
        ));
        assert_eq!(parse_ttl(&MAX_TTL.as_secs().to_string()), Ok(MAX_TTL));
    }

    #[test]
    fn junk_is_a_typed_error() {
        assert_eq!(parse_ttl(""), Err(DurationError::Empty));
        assert_eq!(parse_ttl("   "), Err(DurationError::Empty));
        for bad in [
            "h", "-5", "1h-", "1.h", ".5h", "1h30", "5 5", "1h,2m", "1e3",
        ] {
            assert!(
                matches!(
                    parse_ttl(bad),
                    Err(DurationError::Malformed { .. } | DurationError::UnknownUnit { .. })
                ),
                "{bad:?} -> {:?}",
                parse_ttl(bad)
            );
        }
        assert!(matches!(
            parse_ttl("5fortnights"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_ttl(&"1".repeat(65)),
            Err(DurationError::TooLong { max: 64 })
        ));
        assert!(matches!(
            parse_ttl("1.0000000001s"),
            Err(DurationError::TooPrecise { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn whole_seconds_round_trip(n in 1u64..=MAX_TTL.as_secs()) {
            proptest::prop_assert_eq!(parse_ttl(&n.to_string()), secs(n));
            proptest::prop_assert_eq!(parse_ttl(&format!("{n}s")), secs(n));
        }

        #[test]
        fn hours_and_minutes_add_up(h in 0u64..10_000, m in 0u64..10_000) {
            proptest::prop_assert_eq!(
                parse_duration(&format!("{h}h{m}m")),
                secs(h * 3600 + m * 60)
            );
        }

        #[test]
        fn never_panics(s in "\\PC{0,70}") {
            let _ = parse_duration(&s);
        }
    }
}
