//! Input validation rules for session ids, user ids, TTLs, metadata and permission lists.

use std::time::Duration;

use crate::error::{Error, Field, Result, Rule};
use crate::permission::{DEFAULT_MAX_PERMISSIONS, ParsedPermission, PermissionSet};

/// Longest session or user id, in bytes.
pub const MAX_ID_LEN: usize = 255;
/// Largest serialised metadata object, in bytes.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;
/// Longest TTL accepted — 100 years of 365.25 days, humantime's `100y` — by the library, the CLI
/// and the HTTP API alike; longer values are almost certainly unit mistakes.
pub const MAX_TTL: Duration = Duration::from_secs(36_525 * 24 * 3600);

/// Bounds applied to every session write; backends take them from their configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most distinct permissions one session may hold (default 10,000).
    pub max_permissions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_permissions: DEFAULT_MAX_PERMISSIONS,
        }
    }
}

/// The bytes a session id may hold: `[A-Za-z0-9._~-]`.
const SESSION_ID_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'~' | b'-');
        b += 1;
    }
    table
};

/// Session ids are 1–255 bytes of `[A-Za-z0-9._~-]` (URL-safe, safe in keys and file names).
///
/// Every check validates its session id, so the accepting path is one table look-up per byte
/// (every byte of a multi-byte character is outside the table's allowed set); only a refused id
/// is scanned again, to name the offending character.
#[inline]
pub fn session_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return check_len(Field::SessionId, id);
    }
    // no early exit: valid ids are the common case, and the loop stays branch-free
    let allowed = id
        .bytes()
        .fold(true, |ok, b| ok & SESSION_ID_BYTES[usize::from(b)]);
    if allowed {
        return Ok(());
    }
    session_id_refused(id)
}

/// The error for an id [`session_id`] refused: names the first forbidden character.
#[cold]
#[inline(never)]
fn session_id_refused(id: &str) -> Result<()> {
    if let Some((index, ch)) = id
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-')))
    {
        return Err(Error::invalid(
            Field::SessionId,
            Rule::ForbiddenChar {
                ch,
                index,
                allowed: "A-Z a-z 0-9 . _ ~ -",
            },
        ));
    }
    Ok(())
}

/// User ids are 1–255 bytes of any Unicode text without control characters.
pub fn user_id(id: &str) -> Result<()> {
    check_len(Field::UserId, id)?;
    if let Some((index, ch)) = id.char_indices().find(|&(_, c)| c.is_control()) {
        return Err(Error::invalid(
            Field::UserId,
            Rule::ForbiddenChar {
                ch,
                index,
                allowed: "no control characters",
            },
        ));
    }
    Ok(())
}

/// A TTL must be at least one millisecond and at most [`MAX_TTL`].
pub fn ttl(ttl: Duration) -> Result<()> {
    if ttl < Duration::from_millis(1) || ttl > MAX_TTL {
        return Err(Error::invalid(
            Field::Ttl,
            Rule::OutOfRange {
                allowed: "1 ms to 100 years",
            },
        ));
    }
    Ok(())
}

/// Metadata must be a JSON object of at most [`MAX_METADATA_BYTES`] when serialised.
pub fn metadata(value: &serde_json::Value) -> Result<()> {
    if !value.is_object() {
        return Err(Error::invalid(Field::Metadata, Rule::NotAnObject));
    }
    let size = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
    if size > MAX_METADATA_BYTES {
        return Err(Error::invalid(
            Field::Metadata,
            Rule::TooLong {
                max: MAX_METADATA_BYTES,
            },
        ));
    }
    Ok(())
}

/// Validates one permission against the grammar, for a check or a lookup.
///
/// ```
/// let p = psm_core::validate::permission("posts:*")?;
/// assert_eq!(p.as_str(), "posts:*");
/// assert!(psm_core::validate::permission("posts::read").is_err());
/// # Ok::<(), psm_core::Error>(())
/// ```
#[inline]
pub fn permission(permission: &str) -> Result<ParsedPermission<'_>> {
    Ok(ParsedPermission::parse(permission)?)
}

/// Validates and compiles a permission list under `limits`.
pub fn permissions<I, S>(permissions: I, limits: &Limits) -> Result<PermissionSet>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    PermissionSet::new_bounded(permissions, limits.max_permissions)
}

fn check_len(field: Field, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid(field, Rule::Empty));
    }
    if id.len() > MAX_ID_LEN {
        return Err(Error::invalid(field, Rule::TooLong { max: MAX_ID_LEN }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_rejects_path_tricks_and_names_the_rule() {
        for bad in ["../../etc/passwd", "/abs", "a b", "nul\0", "é"] {
            let err = session_id(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidInput {
                        field: Field::SessionId,
                        rule: Rule::ForbiddenChar { .. }
                    }
                ),
                "{bad:?}: {err}"
            );
        }
        assert!(
            session_id("..").is_ok(),
            "dots are allowed; backends never use ids as paths"
        );
        assert!(session_id(&"a".repeat(255)).is_ok());
        assert!(matches!(
            session_id(&"a".repeat(256)),
            Err(Error::InvalidInput {
                rule: Rule::TooLong { max: 255 },
                ..
            })
        ));
    }

    #[test]
    fn user_id_allows_unicode_but_not_control_characters() {
        assert!(user_id("Zoë 🦀").is_ok());
        assert!(user_id("a\nb").is_err());
        assert!(user_id("").is_err());
    }

    #[test]
    fn ttl_bounds() {
        assert!(ttl(Duration::ZERO).is_err());
        assert!(ttl(Duration::from_secs(1)).is_ok());
        assert!(ttl(MAX_TTL + Duration::from_secs(1)).is_err());
    }
}
