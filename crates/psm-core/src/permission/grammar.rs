//! The permission grammar: validation of permission strings and tokenising them into segments.
//!
//! A permission is 1–255 bytes of printable non-space characters, made of non-empty segments
//! separated by `:` or `.`. A segment that is exactly `*` matches one segment (or, when last,
//! one or more); a trailing `>` on the last segment matches that segment and everything below.

use crate::bytes::same_bytes;
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
#[inline]
pub fn validate_permission(permission: &str) -> Result<Shape, PermissionError> {
    if plain_concrete(permission.as_bytes()) {
        return Ok(Shape::Concrete);
    }
    validate_in_full(permission)
}

/// Class of a byte in [`BYTE_CLASS`]: printable ASCII that is neither a separator nor special.
const PLAIN: u8 = 0;
/// `:` or `.`.
const SEPARATOR: u8 = 1;
/// Anything else: `*`, `>`, space, control characters and every byte of a multi-byte character.
const OTHER: u8 = 2;

/// The class of every byte, for the one-pass scan of [`plain_concrete`].
const BYTE_CLASS: [u8; 256] = {
    let mut table = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c == b':' || c == b'.' {
            table[b] = SEPARATOR;
        } else if c.is_ascii_graphic() && c != b'*' && c != b'>' {
            table[b] = PLAIN;
        }
        b += 1;
    }
    table
};

/// The common case in one pass, one table load per byte: 1–255 bytes of printable ASCII
/// without wildcards, in non-empty segments. True means valid and concrete; false means
/// "ask [`validate_in_full`]" (which gives the answer for patterns, non-ASCII text and errors).
#[inline]
fn plain_concrete(bytes: &[u8]) -> bool {
    if bytes.is_empty() || bytes.len() > MAX_PERMISSION_LEN {
        return false;
    }
    // `after_sep` starts true: a separator in front is an empty first segment
    let mut after_sep = true;
    for &b in bytes {
        match BYTE_CLASS[usize::from(b)] {
            PLAIN => after_sep = false,
            SEPARATOR if !after_sep => after_sep = true,
            _ => return false,
        }
    }
    !after_sep
}

/// The whole grammar, naming the rule a refused permission breaks.
#[cold]
#[inline(never)]
fn validate_in_full(permission: &str) -> Result<Shape, PermissionError> {
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
    #[inline]
    pub fn parse(permission: &'a str) -> Result<Self, PermissionError> {
        let shape = validate_permission(permission)?;
        Ok(ParsedPermission {
            text: permission,
            shape,
        })
    }

    /// The permission text.
    #[inline]
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// Concrete or pattern.
    #[inline]
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
#[inline]
pub(crate) fn grant_matches(grant: &str, permission: &str) -> bool {
    grant_matches_bytes(grant.as_bytes(), permission.as_bytes())
}

/// [`grant_matches`] on the bytes of both (separators are ASCII, so segments split the same
/// way): a compiled set's packed grants are matched without turning them back into `str`.
pub(crate) fn grant_matches_bytes(grant: &[u8], permission: &[u8]) -> bool {
    // A first segment that is not `*` is a literal the permission's first segment must equal
    // (a segment holding `*` is exactly `*`), so different first bytes settle most denials
    // before the grant is scanned for `*`.
    if let (Some(&g0), Some(&p0)) = (grant.first(), permission.first())
        && g0 != b'*'
        && g0 != p0
    {
        return false;
    }
    let (body, deep) = match grant.split_last() {
        Some((b'>', body)) => (body, true),
        _ => (grant, false),
    };
    if !deep && !grant.contains(&b'*') {
        return same_bytes(grant, permission);
    }
    // walk both segment by segment: `g` and `p` are where the current segments start
    let (mut g, mut p) = (0usize, 0usize);
    loop {
        let g_end = segment_end(body, g);
        let p_end = segment_end(permission, p);
        let (Some(g_seg), Some(p_seg)) = (body.get(g..g_end), permission.get(p..p_end)) else {
            return false;
        };
        let star = g_seg == b"*";
        if !star && !same_bytes(g_seg, p_seg) {
            return false;
        }
        match (body.get(g_end), permission.get(p_end)) {
            // the grant ends here: a trailing `*` or `>` takes any rest, else none may follow
            (None, next) => return deep || star || next.is_none(),
            // both go on, after the same separator
            (Some(gs), Some(ps)) if gs == ps => {
                g = g_end + 1;
                p = p_end + 1;
            }
            // the permission is shorter, or the separators differ
            _ => return false,
        }
    }
}

/// Where the segment starting at `from` ends: the next separator, or the end.
#[inline]
fn segment_end(s: &[u8], from: usize) -> usize {
    s.get(from..)
        .and_then(|rest| rest.iter().position(|&b| b == b':' || b == b'.'))
        .map_or(s.len(), |i| from + i)
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

    /// Every string of up to 5 symbols from an alphabet holding each byte class: the one-pass
    /// scan accepts exactly the valid concrete ones, and the public answer is the full one.
    #[test]
    fn the_fast_scan_agrees_with_the_full_grammar() {
        let alphabet = [
            "a", "Z", "9", ":", ".", "*", ">", " ", "\t", "é", "\u{200B}", "-",
        ];
        let mut words = vec![String::new()];
        let mut checked = 0;
        for _ in 0..5 {
            let mut longer = Vec::new();
            for w in &words {
                for a in alphabet {
                    let word = format!("{w}{a}");
                    let full = validate_in_full(&word);
                    assert_eq!(
                        plain_concrete(word.as_bytes()),
                        full == Ok(Shape::Concrete) && word.is_ascii(),
                        "{word:?}"
                    );
                    assert_eq!(validate_permission(&word), full, "{word:?}");
                    checked += 1;
                    longer.push(word);
                }
            }
            words = longer;
        }
        assert_eq!(checked, (1..=5).map(|k| 12usize.pow(k)).sum::<usize>());
        for len in [254, 255, 256] {
            let word = "a".repeat(len);
            assert_eq!(validate_permission(&word), validate_in_full(&word), "{len}");
            assert_eq!(plain_concrete(word.as_bytes()), len <= MAX_PERMISSION_LEN);
        }
    }

    #[test]
    fn parse_marks_trailing_star_and_deep_as_rest() {
        assert!(Pattern::parse("admin:*").rest);
        assert!(Pattern::parse("test>").rest);
        assert!(!Pattern::parse("posts:*:read").rest);
        assert_eq!(Pattern::parse("test>").items, vec![(0, Item::Lit("test"))]);
    }
}
