//! Free helpers over lists of permissions: `matches`, `filter_by_pattern`, `has_any`, `has_all`.

use super::coverage::covers;
use super::grammar::{Shape, grant_matches, validate_permission};
use super::set::PermissionSet;
use crate::error::PermissionError;

/// Does `grant` match `permission`? For a pattern `permission`, does `grant` cover all of it?
///
/// ```
/// use psm_core::permission::matches;
/// assert!(matches("admin:*", "admin:users:delete").unwrap());
/// assert!(!matches("admin:*", "admin").unwrap());
/// assert!(matches("test>", "test").unwrap());
/// assert!(matches("admin>", "admin:*").unwrap());
/// ```
pub fn matches(grant: &str, permission: &str) -> Result<bool, PermissionError> {
    validate_permission(grant)?;
    Ok(match validate_permission(permission)? {
        Shape::Concrete => grant_matches(grant, permission),
        Shape::Pattern => covers([grant], permission),
    })
}

/// The permissions of `permissions` that `pattern` matches (as a grant would), in order.
///
/// ```
/// use psm_core::permission::filter_by_pattern;
/// let perms = ["user:read", "user:write", "admin:read"];
/// assert_eq!(filter_by_pattern(perms, "admin:*").unwrap(), vec!["admin:read"]);
/// ```
pub fn filter_by_pattern<I, S>(
    permissions: I,
    pattern: &str,
) -> Result<Vec<String>, PermissionError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    validate_permission(pattern)?;
    let mut out = Vec::new();
    for p in permissions {
        let p = p.as_ref();
        let hit = match validate_permission(p)? {
            Shape::Concrete => grant_matches(pattern, p),
            Shape::Pattern => covers([pattern], p),
        };
        if hit {
            out.push(p.to_owned());
        }
    }
    Ok(out)
}

/// Do `grants` grant at least one of `required`? False when `required` is empty.
///
/// ```
/// use psm_core::permission::has_any;
/// assert!(has_any(["user:read", "admin:*"], ["admin:users", "root"]).unwrap());
/// ```
pub fn has_any<G, R, S, T>(grants: G, required: R) -> Result<bool, PermissionError>
where
    G: IntoIterator<Item = S>,
    S: AsRef<str>,
    R: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    PermissionSet::new(grants)?.check_any(required)
}

/// Do `grants` grant every one of `required`? True when `required` is empty.
///
/// ```
/// use psm_core::permission::has_all;
/// assert!(has_all(["user:read", "user:write"], ["user:read", "user:write"]).unwrap());
/// assert!(!has_all(["user:read"], ["user:read", "user:write"]).unwrap());
/// ```
pub fn has_all<G, R, S, T>(grants: G, required: R) -> Result<bool, PermissionError>
where
    G: IntoIterator<Item = S>,
    S: AsRef<str>,
    R: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    PermissionSet::new(grants)?.check_all(required)
}
