//! The permission grammar: validation of permission strings and tokenising them into segments.
//!
//! A permission is 1–255 bytes of printable non-space characters, made of non-empty segments
//! separated by `:` or `.`. A segment that is exactly `*` matches one segment (or, when last,
//! one or more); a trailing `>` on the last segment matches that segment and everything below.

use crate::error::{PermissionError, PermissionRule};

/// Longest permission, in bytes.
pub const MAX_PERMISSION_LEN: usize = 255;

/// Whether a valid permission is a concrete name or a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No wildcard: matches only itself.
    Concrete,
    /// Contains a `*` segment or a trailing `>`.
    Pattern,
}

/// Checks `permission` against the grammar and says whether it is a pattern.
///
/// ```
/// use psm_core::permission::{validate_permission, Shape};
/// assert_eq!(validate_permission("read:posts").unwrap(), Shape::Concrete);
/// assert_eq!(validate_permission("admin:*").unwrap(), Shape::Pattern);
/// assert!(validate_permission("foo*").is_err());
/// ```
pub fn validate_permission(permission: &str) -> Result<Shape, PermissionError> {
    let bytes = permission.as_bytes();
    if bytes.is_empty() {
        return Err(PermissionError::new(permission, PermissionRule::Empty));
    }
    if bytes.len() > MAX_PERMISSION_LEN {
        return Err(PermissionError::new(permission, PermissionRule::TooLong));
    }
    let err = |rule| Err(PermissionError::new(permission, rule));
    let mut shape = Shape::Concrete;
    let mut seg_start = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            if !b.is_ascii_graphic() {
                return err(PermissionRule::NotPrintable { index: i });
            }
            match b {
                b':' | b'.' => {
                    if i == seg_start {
                        return err(PermissionRule::EmptySegment { index: i });
                    }
                    seg_start = i + 1;
                }
                b'*' => {
                    let ends_segment = i + 1 == bytes.len() || matches!(bytes[i + 1], b':' | b'.');
                    if i != seg_start || !ends_segment {
                        return err(PermissionRule::MisplacedStar { index: i });
                    }
                    shape = Shape::Pattern;
                }
                b'>' => {
                    if i + 1 != bytes.len() || i == seg_start {
                        return err(PermissionRule::MisplacedDeep { index: i });
                    }
                    shape = Shape::Pattern;
                }
                _ => {}
            }
            i += 1;
        } else {
            // Multi-byte UTF-8: allowed when printable and not white space.
            let Some(ch) = permission[i..].chars().next() else {
                return err(PermissionRule::NotPrintable { index: i });
            };
            if ch.is_whitespace() || ch.is_control() || is_invisible(ch) {
                return err(PermissionRule::NotPrintable { index: i });
            }
            i += ch.len_utf8();
        }
    }
    if seg_start == bytes.len() {
        return err(PermissionRule::EmptySegment { index: bytes.len() });
    }
    Ok(shape)
}

/// A permission that passed [`validate_permission`], with its shape: check it against many
/// sets without validating it again.
///
/// ```
/// use psm_core::permission::{ParsedPermission, PermissionSet};
/// let p = ParsedPermission::parse("admin:users")?;
/// assert!(PermissionSet::new(["admin:*"])?.check_parsed(p));
/// # Ok::<(), psm_core::PermissionError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedPermission<'a> {
    text: &'a str,
    shape: Shape,
}

impl<'a> ParsedPermission<'a> {
    /// Validates `permission`.
    pub fn parse(permission: &'a str) -> Result<Self, PermissionError> {
        let shape = validate_permission(permission)?;
        Ok(ParsedPermission {
            text: permission,
            shape,
        })
    }

    /// The permission text.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// Concrete or pattern.
    pub fn shape(&self) -> Shape {
        self.shape
    }
}

/// Format characters that print as nothing (zero-width joiners, BOM, bidi controls).
fn is_invisible(ch: char) -> bool {
    matches!(ch, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// True if a *valid* permission is a pattern (cheap: looks at `*` and a trailing `>`).
#[inline]
pub(crate) fn is_pattern(valid: &str) -> bool {
    valid.ends_with('>') || valid.contains('*')
}

/// One element of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item<'a> {
    /// A literal segment.
    Lit(&'a str),
    /// `*`: any one segment.
    Star,
}

/// A valid permission taken apart: `items` each preceded by a separator (`0` for the first),
/// and `rest` when any number of further `(separator, segment)` pairs may follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern<'a> {
    pub(crate) items: Vec<(u8, Item<'a>)>,
    pub(crate) rest: bool,
}

impl<'a> Pattern<'a> {
    /// Takes apart a permission already accepted by [`validate_permission`].
    pub(crate) fn parse(valid: &'a str) -> Self {
        let (body, deep) = match valid.strip_suffix('>') {
            Some(body) => (body, true),
            None => (valid, false),
        };
        let items: Vec<(u8, Item<'a>)> = segments(body)
            .map(|(sep, seg)| {
                let item = if seg == "*" {
                    Item::Star
                } else {
                    Item::Lit(seg)
                };
                (sep, item)
            })
            .collect();
        let trailing_star = matches!(items.last(), Some((_, Item::Star)));
        Pattern {
            items,
            rest: deep || trailing_star,
        }
    }
}

/// Iterates over `(separator, segment)` pairs of a valid permission; the first separator is `0`.
pub(crate) fn segments(valid: &str) -> impl Iterator<Item = (u8, &str)> {
    let mut rest = Some((0u8, valid));
    std::iter::from_fn(move || {
        let (sep, s) = rest?;
        match s.find([':', '.']) {
            Some(i) => {
                rest = Some((s.as_bytes()[i], &s[i + 1..]));
                Some((sep, &s[..i]))
            }
            None => {
                rest = None;
                Some((sep, s))
            }
        }
    })
}

/// Does `grant` (valid, pattern or not) match the *concrete* valid permission `permission`?
pub(crate) fn grant_matches(grant: &str, permission: &str) -> bool {
    if !is_pattern(grant) {
        return grant == permission;
    }
    let (body, deep) = match grant.strip_suffix('>') {
        Some(body) => (body, true),
        None => (grant, false),
    };
    let mut perm = segments(permission);
    let mut last_star = false;
    for (gsep, gseg) in segments(body) {
        let Some((psep, pseg)) = perm.next() else {
            return false;
        };
        if gsep != psep {
            return false;
        }
        last_star = gseg == "*";
        if !last_star && gseg != pseg {
            return false;
        }
    }
    deep || last_star || perm.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_split_on_both_separators_and_keep_them() {
        let got: Vec<_> = segments("a:b.c").collect();
        assert_eq!(got, vec![(0, "a"), (b':', "b"), (b'.', "c")]);
        let got: Vec<_> = segments("single").collect();
        assert_eq!(got, vec![(0, "single")]);
    }

    #[test]
    fn parse_marks_trailing_star_and_deep_as_rest() {
        assert!(Pattern::parse("admin:*").rest);
        assert!(Pattern::parse("test>").rest);
        assert!(!Pattern::parse("posts:*:read").rest);
        assert_eq!(Pattern::parse("test>").items, vec![(0, Item::Lit("test"))]);
    }
}
