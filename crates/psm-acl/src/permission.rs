//! `PermissionLike`: how a permission type takes part in psm's pattern grammar (or does not).
//!
//! The ACL is generic over its permission type. Types that are strings (`String`, `str`,
//! `Box<str>`, `Arc<str>`, `Cow<str>`) use psm's one grammar: they are validated when they enter
//! the ACL, and grants such as `posts:*` or `admin>` match other permissions. Every other type is
//! *exact only*: a grant matches the equal permission and nothing else. Integer types, `char`,
//! `bool` and the [`Exact`] wrapper are exact already; for your own type write an empty impl:
//!
//! ```
//! #[derive(Clone, PartialEq, Eq, Hash, Debug)]
//! enum Perm { Read, Write }
//! impl psm_acl::PermissionLike for Perm {}
//!
//! let mut acl = psm_acl::Acl::<&str, &str, Perm>::default();
//! acl.grant("editor", "blog", Perm::Write)?;
//! assert!(acl.check("editor", "blog", &Perm::Write));
//! assert!(!acl.check("editor", "blog", &Perm::Read));
//! # Ok::<(), psm_acl::Error>(())
//! ```

use std::borrow::{Borrow, Cow};
use std::rc::Rc;
use std::sync::Arc;

use psm_core::permission::{Shape, validate_permission};

/// A permission type of the ACL. The default methods make a type *exact only*.
pub trait PermissionLike {
    /// The permission as a string of psm's grammar, or `None` for exact-only types.
    ///
    /// A type that returns `Some` must return it for every value, and equal values must give
    /// equal strings.
    fn grammar(&self) -> Option<&str> {
        None
    }

    /// The bytes that identify the value, for psm's own string types: two of them are equal
    /// exactly when these bytes are, so the ACL compares them in line instead of calling `==`.
    /// Other types keep the default, `None` (compared with `Eq`); the argument keeps the method
    /// from being overridden outside this crate.
    #[doc(hidden)]
    fn key_bytes(&self, _: sealed::Token) -> Option<&[u8]> {
        None
    }
}

/// The token that seals [`PermissionLike::key_bytes`]: public, in a private module, so other
/// crates can call the method's default but cannot name the type to override it.
mod sealed {
    #[derive(Clone, Copy, Debug)]
    pub struct Token;
}

/// Is the stored permission `stored` equal to the looked-up `query`? Compares the bytes of psm's
/// string types in line (`same_bytes`: no `memcmp` call for short strings), others with `Eq`.
#[inline]
pub(crate) fn same_permission<P, Q>(stored: &P, query: &Q) -> bool
where
    P: PermissionLike + std::borrow::Borrow<Q>,
    Q: PermissionLike + Eq + ?Sized,
{
    match (
        stored.key_bytes(sealed::Token),
        query.key_bytes(sealed::Token),
    ) {
        (Some(a), Some(b)) => psm_core::bytes::same_bytes(a, b),
        _ => stored.borrow() == query,
    }
}

/// Validates a permission entering the ACL; true when it is a pattern grant.
pub(crate) fn pattern_shape<P: PermissionLike + ?Sized>(
    permission: &P,
) -> Result<bool, psm_core::PermissionError> {
    match permission.grammar() {
        Some(s) => Ok(validate_permission(s)? == Shape::Pattern),
        None => Ok(false),
    }
}

impl PermissionLike for str {
    fn grammar(&self) -> Option<&str> {
        Some(self)
    }

    fn key_bytes(&self, _: sealed::Token) -> Option<&[u8]> {
        Some(self.as_bytes())
    }
}

impl PermissionLike for String {
    fn grammar(&self) -> Option<&str> {
        Some(self)
    }

    fn key_bytes(&self, _: sealed::Token) -> Option<&[u8]> {
        Some(self.as_bytes())
    }
}

impl PermissionLike for Box<str> {
    fn grammar(&self) -> Option<&str> {
        Some(self)
    }

    fn key_bytes(&self, _: sealed::Token) -> Option<&[u8]> {
        Some(self.as_bytes())
    }
}

impl PermissionLike for Arc<str> {
    fn grammar(&self) -> Option<&str> {
        Some(self)
    }

    fn key_bytes(&self, _: sealed::Token) -> Option<&[u8]> {
        Some(self.as_bytes())
    }
}

impl PermissionLike for Rc<str> {
    fn grammar(&self) -> Option<&str> {
        Some(self)
    }

    fn key_bytes(&self, _: sealed::Token) -> Option<&[u8]> {
        Some(self.as_bytes())
    }
}

impl PermissionLike for Cow<'_, str> {
    fn grammar(&self) -> Option<&str> {
        Some(self)
    }

    fn key_bytes(&self, _: sealed::Token) -> Option<&[u8]> {
        Some(self.as_bytes())
    }
}

impl<T: PermissionLike + ?Sized> PermissionLike for &T {
    fn grammar(&self) -> Option<&str> {
        (**self).grammar()
    }

    fn key_bytes(&self, token: sealed::Token) -> Option<&[u8]> {
        (**self).key_bytes(token)
    }
}

macro_rules! exact_only {
    ($($t:ty),*) => { $(impl PermissionLike for $t {})* };
}
exact_only!(
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    char,
    bool,
    ()
);

/// Wraps any `Hash + Eq + Clone` value as an exact-only permission (no pattern matching, no
/// grammar validation), for types you cannot implement [`PermissionLike`] for. `Exact<String>`
/// gives Miracle's original "any hashable value" behaviour for strings.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Exact<T>(pub T);

impl<T> PermissionLike for Exact<T> {}

impl<T> From<T> for Exact<T> {
    fn from(value: T) -> Self {
        Exact(value)
    }
}

impl<T> Borrow<T> for Exact<T> {
    fn borrow(&self) -> &T {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_use_the_grammar_and_others_are_exact() {
        assert_eq!("a:*".grammar(), Some("a:*"));
        assert_eq!(String::from("x").grammar(), Some("x"));
        assert_eq!(7u32.grammar(), None);
        assert_eq!(Exact("a:*").grammar(), None);
        assert!(pattern_shape("admin>").unwrap());
        assert!(!pattern_shape("read").unwrap());
        assert!(pattern_shape("foo*").is_err());
        assert!(!pattern_shape(&Exact("foo*")).unwrap());
    }
}
