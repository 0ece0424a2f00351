//! The session record: a Redis hash with short fields, and the compact `p` field a check reads.
//!
//! | field | value |
//! |---|---|
//! | `u` | user id |
//! | `p` | expiry in ms since the epoch (or `-` for none), then a space and the grants separated by single spaces |
//! | `c` | created_at, ms since the epoch |
//! | `t` | updated_at, ms since the epoch |
//! | `m` | metadata, a JSON object |
//!
//! Grants never contain spaces (the grammar forbids them), so `p` splits unambiguously. A check
//! reads `p` alone (one `HGET`) and matches it in Rust, expiry included.

use psm_core::permission::{ParsedPermission, Shape, matches};
use psm_core::{Error, PermissionSet, Result, Session, Timestamp};

/// Fields read by `get_session`, in this order (`HMGET key u p c t m`).
pub(crate) const SESSION_FIELDS: [&str; 5] = ["u", "p", "c", "t", "m"];

/// The `p` field for `expires_at` and `grants`.
pub(crate) fn encode_check_field(expires_at: Option<Timestamp>, grants: &PermissionSet) -> String {
    let mut out = String::with_capacity(16 + grants.iter().map(|g| g.len() + 1).sum::<usize>());
    match expires_at {
        Some(e) => out.push_str(&e.as_millis().to_string()),
        None => out.push('-'),
    }
    out.push_str(&encode_grants_tail(grants));
    out
}

/// The grants part of `p` as the update script appends it: empty, or a space then the grants.
pub(crate) fn encode_grants_tail(grants: &PermissionSet) -> String {
    let mut out = String::new();
    for grant in grants.iter() {
        out.push(' ');
        out.push_str(grant);
    }
    out
}

/// A decoded `p` field: expiry and the grants text (space separated).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckField<'a> {
    pub(crate) expires_at: Option<Timestamp>,
    pub(crate) grants: &'a str,
}

impl<'a> CheckField<'a> {
    pub(crate) fn parse(raw: &'a str, key: &str) -> Result<Self> {
        let (head, grants) = raw.split_once(' ').unwrap_or((raw, ""));
        let expires_at = if head == "-" {
            None
        } else {
            Some(Timestamp::from_millis(head.parse().map_err(|_| {
                corrupt(key, "the p field does not start with an expiry")
            })?))
        };
        Ok(CheckField { expires_at, grants })
    }

    /// True when the session is live at `now` (the server's TTL agrees; this guards clock skew).
    pub(crate) fn is_live(&self, now: Timestamp) -> bool {
        !psm_core::is_expired(self.expires_at, now)
    }

    /// Whether the grants grant `permission`. A concrete permission is granted when any grant
    /// matches it, which a scan answers without compiling (no allocation); every grant is still
    /// validated, so a corrupt one fails closed wherever it sits. A pattern asks the compiled set
    /// (covering it may take several grants together).
    pub(crate) fn check(&self, permission: ParsedPermission<'_>, key: &str) -> Result<bool> {
        if permission.shape() == Shape::Pattern {
            return Ok(self.compile(key)?.check_parsed(permission));
        }
        let mut granted = false;
        for grant in self.grants.split(' ').filter(|g| !g.is_empty()) {
            granted |= matches(grant, permission.as_str())
                .map_err(|e| corrupt(key, &format!("stored grant is invalid: {e}")))?;
        }
        Ok(granted)
    }

    /// Compiles the grants; a grant outside the grammar is corruption (fail closed).
    pub(crate) fn compile(&self, key: &str) -> Result<PermissionSet> {
        PermissionSet::new(self.grants.split(' ').filter(|g| !g.is_empty()))
            .map_err(|e| corrupt(key, &format!("stored grant is invalid: {e}")))
    }
}

/// Decodes `HMGET key u p c t m` into a live session, `None` when absent or expired at `now`.
pub(crate) fn decode_session(
    session_id: &str,
    key: &str,
    fields: [Option<String>; 5],
    now: Timestamp,
) -> Result<Option<Session>> {
    let [user, check, created, updated, metadata] = fields;
    let (Some(user_id), Some(check)) = (user, check) else {
        return Ok(None);
    };
    let check = CheckField::parse(&check, key)?;
    if !check.is_live(now) {
        return Ok(None);
    }
    let permissions = check.compile(key)?.to_vec();
    let millis = |v: Option<String>, what: &str| -> Result<Timestamp> {
        v.and_then(|s| s.parse().ok())
            .map(Timestamp::from_millis)
            .ok_or_else(|| corrupt(key, &format!("field {what} is missing or not a number")))
    };
    let metadata = match metadata {
        None => serde_json::Value::Object(serde_json::Map::new()),
        Some(m) => serde_json::from_str(&m)
            .ok()
            .filter(serde_json::Value::is_object)
            .ok_or_else(|| corrupt(key, "metadata is not a JSON object"))?,
    };
    Ok(Some(Session {
        session_id: session_id.to_owned(),
        user_id,
        permissions,
        created_at: millis(created, "c")?,
        updated_at: millis(updated, "t")?,
        expires_at: check.expires_at,
        metadata,
    }))
}

pub(crate) fn corrupt(key: &str, reason: &str) -> Error {
    Error::Corrupt {
        location: key.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_field_round_trips_expiry_and_grants() {
        let grants = PermissionSet::new(["read", "admin:*"]).unwrap();
        let raw = encode_check_field(Some(Timestamp::from_millis(42)), &grants);
        assert_eq!(raw, "42 read admin:*");
        let parsed = CheckField::parse(&raw, "k").unwrap();
        assert_eq!(parsed.expires_at, Some(Timestamp::from_millis(42)));
        assert!(parsed.compile("k").unwrap().check("admin:x").unwrap());
        assert!(!parsed.is_live(Timestamp::from_millis(42)));
        assert!(parsed.is_live(Timestamp::from_millis(41)));
        let empty = encode_check_field(None, &PermissionSet::empty());
        assert_eq!(empty, "-");
        let parsed = CheckField::parse(&empty, "k").unwrap();
        assert!(parsed.compile("k").unwrap().is_empty());
        assert!(parsed.is_live(Timestamp::from_millis(u64::MAX)));
    }

    #[test]
    fn the_scan_agrees_with_the_compiled_set() {
        let grant_lists = [
            "",
            "read",
            "read:posts write:posts",
            "admin:* posts:*:read test>",
            "*",
            "a.b a:b a>",
        ];
        let asked = [
            "read",
            "read:posts",
            "admin",
            "admin:x",
            "admin:x:y",
            "posts:1:read",
            "posts:read",
            "test",
            "test.sub",
            "tests",
            "a.b",
            "a:b",
            "a",
            "a.c",
            "admin:*",
            "a>",
            "posts:*:read",
            "zzz",
        ];
        for grants in grant_lists {
            let raw = format!("- {grants}");
            let field = CheckField::parse(&raw, "k").unwrap();
            let set = field.compile("k").unwrap();
            for permission in asked {
                let parsed = ParsedPermission::parse(permission).unwrap();
                assert_eq!(
                    field.check(parsed, "k").unwrap(),
                    set.check_parsed(parsed),
                    "grants {grants:?}, permission {permission}"
                );
            }
        }
    }

    #[test]
    fn a_corrupt_grant_fails_the_scan_even_after_a_match() {
        let field = CheckField::parse("- read a::b", "k").unwrap();
        let read = ParsedPermission::parse("read").unwrap();
        assert!(matches!(field.check(read, "k"), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn corrupt_fields_fail_closed() {
        assert!(matches!(
            CheckField::parse("soon read", "k"),
            Err(Error::Corrupt { .. })
        ));
        let bad = CheckField::parse("- a::b", "k").unwrap();
        assert!(matches!(bad.compile("k"), Err(Error::Corrupt { .. })));
    }
}
