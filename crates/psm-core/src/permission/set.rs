//! `PermissionSet`: a session's grants, validated once and compiled into a compact matcher.
//!
//! Small sets (up to [`SMALL`] grants, the common case) keep only one packed buffer and are
//! scanned; larger ones add a hash set for exact grants and a segment trie for patterns, so a
//! check costs a hash lookup per segment of the checked permission, whatever the number of grants.

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::coverage::covers;
use super::grammar::{
    ParsedPermission, Shape, grant_matches_bytes, is_pattern, segments, validate_permission,
};
use crate::bytes::same_bytes;
use crate::error::{Error, Field, PermissionError, Rule};

/// Sets of at most this many grants are matched by a scan of one packed buffer.
const SMALL: usize = 16;

/// Default bound on the number of permissions of one session.
pub const DEFAULT_MAX_PERMISSIONS: usize = 10_000;

const HAS_PATTERN: u8 = 1;
const HAS_ALL: u8 = 2;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// A validated, de-duplicated, ordered set of grants, compiled for fast checks.
///
/// ```
/// use psm_core::permission::PermissionSet;
/// let grants = PermissionSet::new(["read:posts", "admin:*", "test>"]).unwrap();
/// assert!(grants.check("read:posts").unwrap());
/// assert!(grants.check("admin:users:delete").unwrap());
/// assert!(grants.check("test.sub1").unwrap());
/// assert!(!grants.check("admin").unwrap());
/// assert!(grants.check("admin:*").unwrap());      // a pattern check asks for full coverage
/// assert!(!grants.check("read:*").unwrap());
/// assert!(grants.check("foo*").is_err());          // not in the grammar
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PermissionSet {
    /// Grants in insertion order, each as a length byte then its UTF-8 bytes (grants are at most
    /// 255 bytes, so one byte holds the length).
    packed: Box<[u8]>,
    len: u32,
    flags: u8,
    /// Bit `i` set when grant `i` is a pattern (small sets only).
    pattern_bits: u16,
    index: Option<Box<Index>>,
}

impl PermissionSet {
    /// An empty set (checks are all false).
    pub fn empty() -> Self {
        PermissionSet {
            packed: Box::default(),
            len: 0,
            flags: 0,
            pattern_bits: 0,
            index: None,
        }
    }

    /// Validates and compiles `grants`, dropping duplicates and keeping first-seen order.
    pub fn new<I, S>(grants: I) -> Result<Self, PermissionError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::with_limit(grants, usize::MAX).map_err(|e| match e {
            LimitError::Permission(p) => p,
            // unreachable with usize::MAX, but never panic
            LimitError::TooMany(_) => {
                PermissionError::new("", crate::error::PermissionRule::TooLong)
            }
        })
    }

    /// Like [`PermissionSet::new`] with a bound on the number of distinct grants, as the
    /// session validation uses it; errors name the field.
    pub fn new_bounded<I, S>(grants: I, max: usize) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::with_limit(grants, max).map_err(|e| match e {
            LimitError::Permission(p) => Error::InvalidPermission(p),
            LimitError::TooMany(max) => Error::invalid(Field::Permissions, Rule::TooMany { max }),
        })
    }

    fn with_limit<I, S>(grants: I, max: usize) -> Result<Self, LimitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut packed: Vec<u8> = Vec::new();
        let mut len = 0usize;
        let mut flags = 0u8;
        let mut pattern_bits = 0u16;
        let mut seen: FastSet<Box<str>> = FastSet::default();
        let mut small: Vec<(usize, usize)> = Vec::new();
        for grant in grants {
            let grant = grant.as_ref();
            let shape = validate_permission(grant).map_err(LimitError::Permission)?;
            // de-duplicate: linear while small, hashed beyond
            let duplicate = if len < SMALL {
                small
                    .iter()
                    .any(|&(s, e)| &packed[s..e] == grant.as_bytes())
            } else {
                if seen.is_empty() {
                    seen.extend(
                        small
                            .iter()
                            .filter_map(|&(s, e)| std::str::from_utf8(&packed[s..e]).ok())
                            .map(Box::from),
                    );
                }
                !seen.insert(Box::from(grant))
            };
            if duplicate {
                continue;
            }
            len += 1;
            if len > max {
                return Err(LimitError::TooMany(max));
            }
            if shape == Shape::Pattern {
                flags |= HAS_PATTERN;
                if len <= SMALL {
                    pattern_bits |= 1 << (len - 1);
                }
            }
            if grant == "*" {
                flags |= HAS_ALL;
            }
            // validated permissions are 1..=255 bytes
            packed.push(u8::try_from(grant.len()).unwrap_or(u8::MAX));
            let start = packed.len();
            packed.extend_from_slice(grant.as_bytes());
            if len <= SMALL {
                small.push((start, packed.len()));
            }
        }
        let packed = packed.into_boxed_slice();
        let index = (len > SMALL).then(|| Box::new(Index::build(entries(&packed))));
        Ok(PermissionSet {
            packed,
            len: u32::try_from(len).unwrap_or(u32::MAX),
            flags,
            pattern_bits,
            index,
        })
    }

    /// Number of distinct grants.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when there are no grants.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when some grant is a pattern.
    pub fn has_patterns(&self) -> bool {
        self.flags & HAS_PATTERN != 0
    }

    /// The grants, in the order they were first given.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        entries(&self.packed)
    }

    /// The grants as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    /// Is `permission` granted? A concrete permission asks whether any grant matches it; a
    /// pattern asks whether the grants together cover everything the pattern matches.
    pub fn check(&self, permission: &str) -> Result<bool, PermissionError> {
        Ok(self.check_parsed(ParsedPermission::parse(permission)?))
    }

    /// [`check`](Self::check) comparing the exact grants with `permission` *before* validating
    /// it: a concrete grant equal to it byte for byte proves it valid and concrete (every grant
    /// was validated when the set was built), so an exact hit costs no parse. Otherwise the
    /// permission is validated (the same typed error as `check` when invalid: fail closed) and
    /// matched against the pattern grants only. Same answers as [`check`](Self::check) for
    /// every string.
    #[inline(always)]
    pub fn check_unparsed(&self, permission: &str) -> Result<bool, PermissionError> {
        if self.index.is_none() && self.exact_grant(permission.as_bytes()) {
            return Ok(true);
        }
        self.check_after_exact_miss(permission)
    }

    /// Is `wanted` byte for byte one of the concrete grants of a small set?
    #[inline(always)]
    fn exact_grant(&self, wanted: &[u8]) -> bool {
        let mut patterns = self.pattern_bits;
        let mut rest = &self.packed[..];
        while let Some((&len, tail)) = rest.split_first() {
            let Some((grant, next)) = tail.split_at_checked(usize::from(len)) else {
                return false;
            };
            if patterns & 1 == 0 && same_bytes(grant, wanted) {
                return true;
            }
            patterns >>= 1;
            rest = next;
        }
        false
    }

    /// The rest of [`check_unparsed`](Self::check_unparsed) when no exact grant of a small set
    /// equals `permission` (or the set is indexed): validation, then the patterns.
    #[inline]
    fn check_after_exact_miss(&self, permission: &str) -> Result<bool, PermissionError> {
        let parsed = ParsedPermission::parse(permission)?;
        if self.index.is_some() || parsed.shape() == Shape::Pattern || self.flags & HAS_ALL != 0 {
            return Ok(self.check_parsed(parsed));
        }
        // small, concrete, exact grants already compared: only the patterns can match
        let mut patterns = self.pattern_bits;
        let mut rest = &self.packed[..];
        while patterns != 0 {
            let Some((&len, tail)) = rest.split_first() else {
                return Ok(false);
            };
            let Some((grant, next)) = tail.split_at_checked(usize::from(len)) else {
                return Ok(false);
            };
            if patterns & 1 == 1 && grant_matches_bytes(grant, permission.as_bytes()) {
                return Ok(true);
            }
            patterns >>= 1;
            rest = next;
        }
        Ok(false)
    }

    /// [`check`](Self::check) for a permission validated once by [`ParsedPermission::parse`].
    #[inline(always)]
    pub fn check_parsed(&self, permission: ParsedPermission<'_>) -> bool {
        match permission.shape() {
            Shape::Concrete => self.check_concrete(permission.as_str()),
            Shape::Pattern => self.check_pattern(permission.as_str()),
        }
    }

    /// [`check`](Self::check) for a permission already known to be valid and concrete.
    #[inline(always)]
    pub(crate) fn check_concrete(&self, permission: &str) -> bool {
        if self.flags & HAS_ALL != 0 {
            return true;
        }
        match &self.index {
            Some(index) => index.check(permission),
            None => self.scan(permission.as_bytes()),
        }
    }

    /// The check of a small set: one pass over the packed grants, exact ones compared in line
    /// (their length first), patterns matched segment by segment.
    #[inline(always)]
    fn scan(&self, wanted: &[u8]) -> bool {
        let mut patterns = self.pattern_bits;
        let mut rest = &self.packed[..];
        while let Some((&len, tail)) = rest.split_first() {
            let Some((grant, next)) = tail.split_at_checked(usize::from(len)) else {
                return false;
            };
            let hit = if patterns & 1 == 0 {
                same_bytes(grant, wanted)
            } else {
                grant_matches_bytes(grant, wanted)
            };
            if hit {
                return true;
            }
            patterns >>= 1;
            rest = next;
        }
        false
    }

    #[inline(never)]
    fn check_pattern(&self, pattern: &str) -> bool {
        if self.flags & HAS_ALL != 0 {
            return true;
        }
        if !self.has_patterns() {
            // Exact grants can never cover a pattern: it matches infinitely many names.
            return false;
        }
        // Exact grants count too (`a` is part of `a>`), but only those the pattern matches.
        covers(
            self.iter()
                .filter(|g| is_pattern(g) || super::grammar::grant_matches(pattern, g)),
            pattern,
        )
    }

    /// True when every one of `permissions` is granted.
    pub fn check_all<I, S>(&self, permissions: I) -> Result<bool, PermissionError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for p in permissions {
            if !self.check(p.as_ref())? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// True when at least one of `permissions` is granted.
    pub fn check_any<I, S>(&self, permissions: I) -> Result<bool, PermissionError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for p in permissions {
            if self.check(p.as_ref())? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Bytes of heap this set owns (for memory accounting in stats).
    pub fn heap_size(&self) -> usize {
        self.packed.len() + self.index.as_ref().map_or(0, |i| i.heap_size())
    }
}

impl Default for PermissionSet {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Iterates over the grants of a packed buffer (length byte, then bytes).
fn entries(packed: &[u8]) -> impl Iterator<Item = &str> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let len = usize::from(*packed.get(pos)?);
        let bytes = packed.get(pos + 1..pos + 1 + len)?;
        pos += 1 + len;
        // every grant was a &str when packed; a failure here would mean a bug, so stop
        std::str::from_utf8(bytes).ok()
    })
}

enum LimitError {
    Permission(PermissionError),
    TooMany(usize),
}

/// Hash set of exact grants plus a segment trie of pattern grants.
#[derive(Clone, PartialEq, Eq)]
struct Index {
    exact: FastSet<Box<str>>,
    trie: Vec<Node>,
}

/// A trie node. Literal children are keyed by separator-plus-segment (`":read"`), or by the
/// bare segment at the root, so lookups borrow straight from the checked permission.
#[derive(Clone, Default, PartialEq, Eq)]
struct Node {
    lit: FastMap<Box<str>, u32>,
    /// `*` children by separator: root (0), `:` and `.`.
    star: [u32; 3],
    /// A grant ends here.
    accept: bool,
    /// A grant ends here and allows any further segments (`admin:*`, `test>`).
    rest: bool,
}

fn sep_slot(sep: u8) -> usize {
    match sep {
        b':' => 1,
        b'.' => 2,
        _ => 0,
    }
}

impl Index {
    fn build<'a>(grants: impl Iterator<Item = &'a str>) -> Self {
        let mut index = Index {
            exact: FastSet::default(),
            trie: vec![Node::default()],
        };
        for grant in grants {
            if is_pattern(grant) {
                index.insert_pattern(grant);
            } else {
                index.exact.insert(Box::from(grant));
            }
        }
        index
    }

    fn insert_pattern(&mut self, grant: &str) {
        let (body, deep) = match grant.strip_suffix('>') {
            Some(body) => (body, true),
            None => (grant, false),
        };
        let mut node = 0usize;
        let mut last_star = false;
        for (sep, seg) in segments(body) {
            last_star = seg == "*";
            let next = if last_star {
                let slot = sep_slot(sep);
                match self.trie[node].star[slot] {
                    0 => {
                        let id = self.push_node();
                        self.trie[node].star[slot] = id;
                        id
                    }
                    id => id,
                }
            } else {
                let key = key_of(sep, seg);
                match self.trie[node].lit.get(key.as_str()) {
                    Some(&id) => id,
                    None => {
                        let id = self.push_node();
                        self.trie[node].lit.insert(key.into_boxed_str(), id);
                        id
                    }
                }
            };
            node = next as usize;
        }
        if deep || last_star {
            self.trie[node].rest = true;
        } else {
            self.trie[node].accept = true;
        }
    }

    fn push_node(&mut self) -> u32 {
        self.trie.push(Node::default());
        u32::try_from(self.trie.len() - 1).unwrap_or(0)
    }

    #[inline(never)]
    fn check(&self, permission: &str) -> bool {
        if self.exact.contains(permission) {
            return true;
        }
        self.trie.len() > 1 && self.walk(0, permission, 0, true)
    }

    /// Depth-first walk: each trie node sits at one depth, so each is visited at most once.
    fn walk(&self, node: usize, permission: &str, pos: usize, first: bool) -> bool {
        let Some(n) = self.trie.get(node) else {
            return false;
        };
        if pos >= permission.len() && !first {
            return n.accept || n.rest;
        }
        if n.rest && !first {
            return true;
        }
        let bytes = permission.as_bytes();
        let (sep, seg_start) = if first {
            (0u8, pos)
        } else {
            (bytes[pos], pos + 1)
        };
        let seg_end = permission[seg_start..]
            .find([':', '.'])
            .map_or(permission.len(), |i| seg_start + i);
        if let Some(&child) = n.lit.get(&permission[pos..seg_end])
            && self.walk(child as usize, permission, seg_end, false)
        {
            return true;
        }
        match n.star[sep_slot(sep)] {
            0 => false,
            child => self.walk(child as usize, permission, seg_end, false),
        }
    }

    fn heap_size(&self) -> usize {
        let exact: usize = self.exact.iter().map(|g| g.len() + 24).sum();
        let trie: usize = self
            .trie
            .iter()
            .map(|n| {
                std::mem::size_of::<Node>() + n.lit.keys().map(|k| k.len() + 28).sum::<usize>()
            })
            .sum();
        exact + trie
    }
}

fn key_of(sep: u8, seg: &str) -> String {
    let mut key = String::with_capacity(seg.len() + 1);
    if sep != 0 {
        key.push(char::from(sep));
    }
    key.push_str(seg);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(extra: &[&str]) -> PermissionSet {
        let mut grants: Vec<String> = (0..40).map(|i| format!("filler:{i}")).collect();
        grants.extend(extra.iter().map(|s| s.to_string()));
        PermissionSet::new(grants).unwrap()
    }

    #[test]
    fn small_and_indexed_sets_agree_on_the_design_table() {
        let grants = ["read:posts", "admin:*", "posts:*:read", "test>"];
        let small = PermissionSet::new(grants).unwrap();
        let large = big(&grants);
        assert!(large.index.is_some() && small.index.is_none());
        for (perm, want) in [
            ("read:posts", true),
            ("read:post", false),
            ("admin:read", true),
            ("admin:users:delete", true),
            ("admin", false),
            ("posts:42:read", true),
            ("posts:read", false),
            ("posts:1:2:read", false),
            ("test", true),
            ("test.sub1", true),
            ("test.sub1.x", true),
            ("tests", false),
            ("tes", false),
        ] {
            assert_eq!(small.check(perm).unwrap(), want, "small {perm}");
            assert_eq!(large.check(perm).unwrap(), want, "large {perm}");
        }
    }

    #[test]
    fn duplicates_are_dropped_and_order_kept() {
        let set = PermissionSet::new(["b", "a", "b", "c", "a"]).unwrap();
        assert_eq!(set.to_vec(), vec!["b", "a", "c"]);
        assert_eq!(set.len(), 3);
    }

    #[test]
    fn bounded_set_names_the_field() {
        let err = PermissionSet::new_bounded(["a", "b", "c"], 2).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidInput {
                field: Field::Permissions,
                rule: Rule::TooMany { max: 2 }
            }
        ));
        // duplicates do not count against the bound
        assert_eq!(
            PermissionSet::new_bounded(["a", "a", "b"], 2)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn exact_grants_take_part_in_pattern_coverage() {
        let set = PermissionSet::new(["a", "a.*", "a:*"]).unwrap();
        assert!(set.check("a>").unwrap());
        let set = PermissionSet::new(["a.*", "a:*"]).unwrap();
        assert!(!set.check("a>").unwrap());
    }

    #[test]
    fn star_alone_grants_everything() {
        let set = PermissionSet::new(["*"]).unwrap();
        assert!(set.check("anything:at.all").unwrap());
        assert!(set.check("admin:*").unwrap());
        assert!(set.check("*").unwrap());
    }
}
