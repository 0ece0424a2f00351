//! The typed parameter type of a caveat or condition (`int`, `list<string>`, `ipaddress`, ...),
//! parsed once with the schema and printed back exactly as a valid schema writes it.

use std::fmt;

use crate::error::{Error, Position};

/// The declared type of a caveat (SpiceDB) or condition (OpenFGA) parameter.
///
/// Parsed once with the schema (an unknown type is a [`crate::Error::SchemaInvalid`] with rule
/// `unknown-caveat-parameter-type`); its [`Display`](fmt::Display) is the schema text
/// (`list<string>`), and [`CaveatType::openfga_type_name`] the OpenFGA JSON name.
///
/// ```
/// use psm_rebac::schema::CaveatType;
/// let t = CaveatType::parse("map<list<int>>").unwrap();
/// assert_eq!(t, CaveatType::Map(Box::new(CaveatType::List(Box::new(CaveatType::Int)))));
/// assert_eq!(t.to_string(), "map<list<int>>");
/// assert_eq!(CaveatType::parse("integer"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CaveatType {
    /// `any`: whatever JSON value is given.
    Any,
    /// `bool`.
    Bool,
    /// `int` (64-bit signed).
    Int,
    /// `uint` (64-bit unsigned).
    Uint,
    /// `double` (finite).
    Double,
    /// `string`.
    String,
    /// `bytes` (given as a string).
    Bytes,
    /// `duration` (Go style: `1h30m`).
    Duration,
    /// `timestamp` (RFC 3339).
    Timestamp,
    /// `ipaddress`.
    IpAddress,
    /// `list<T>`.
    List(Box<CaveatType>),
    /// `map<T>`: string keys, values of type `T`.
    Map(Box<CaveatType>),
}

impl CaveatType {
    /// A type without generic arguments by its schema name (`int`, `ipaddress`, ...); `None` for
    /// an unknown name and for `list`/`map`, which need one.
    pub fn scalar(name: &str) -> Option<Self> {
        Some(match name {
            "any" => Self::Any,
            "bool" => Self::Bool,
            "int" => Self::Int,
            "uint" => Self::Uint,
            "double" => Self::Double,
            "string" => Self::String,
            "bytes" => Self::Bytes,
            "duration" => Self::Duration,
            "timestamp" => Self::Timestamp,
            "ipaddress" => Self::IpAddress,
            _ => return None,
        })
    }

    /// A type by its schema name and generic arguments: a scalar takes none, `list` and `map`
    /// one (`map<string, T>`, naming the key type, is taken as `map<T>`; keys are strings).
    /// `None` for anything else.
    pub fn from_parts(name: &str, mut args: Vec<CaveatType>) -> Option<Self> {
        match (name, args.len()) {
            ("list", 1) => args.pop().map(|t| Self::List(Box::new(t))),
            ("map", 1) => args.pop().map(|t| Self::Map(Box::new(t))),
            ("map", 2) if args.first() == Some(&Self::String) => {
                args.pop().map(|t| Self::Map(Box::new(t)))
            }
            (_, 0) => Self::scalar(name),
            _ => None,
        }
    }

    /// Parses a type as the schema writes it (`int`, `list<string>`, `map<list<int>>`), nested
    /// at most [`CaveatType::MAX_NESTING`] deep.
    pub fn parse(text: &str) -> Option<Self> {
        Self::parse_at(text, 0)
    }

    /// How deep [`CaveatType::parse`] nests generic arguments.
    pub const MAX_NESTING: usize = 64;

    fn parse_at(text: &str, depth: usize) -> Option<Self> {
        if depth > Self::MAX_NESTING {
            return None;
        }
        let text = text.trim();
        let Some((name, rest)) = text.split_once('<') else {
            return Self::scalar(text);
        };
        let inner = rest.strip_suffix('>')?;
        // The arguments split at the top-level commas.
        let mut args = Vec::new();
        let (mut open, mut start) = (0usize, 0usize);
        for (i, c) in inner.char_indices() {
            match c {
                '<' => open += 1,
                '>' => open = open.checked_sub(1)?,
                ',' if open == 0 => {
                    args.push(Self::parse_at(inner.get(start..i)?, depth + 1)?);
                    start = i + 1;
                }
                _ => {}
            }
        }
        args.push(Self::parse_at(inner.get(start..)?, depth + 1)?);
        Self::from_parts(name.trim(), args)
    }

    /// A type by its OpenFGA JSON name (`TYPE_NAME_INT`) and generic arguments.
    pub fn from_openfga_type_name(name: &str, args: Vec<CaveatType>) -> Option<Self> {
        let base = name.strip_prefix("TYPE_NAME_")?;
        if base.bytes().any(|b| b.is_ascii_lowercase()) {
            return None;
        }
        Self::from_parts(&base.to_ascii_lowercase(), args)
    }

    /// The OpenFGA JSON name of the outer type (`TYPE_NAME_LIST` for `list<int>`).
    pub fn openfga_type_name(&self) -> &'static str {
        match self {
            Self::Any => "TYPE_NAME_ANY",
            Self::Bool => "TYPE_NAME_BOOL",
            Self::Int => "TYPE_NAME_INT",
            Self::Uint => "TYPE_NAME_UINT",
            Self::Double => "TYPE_NAME_DOUBLE",
            Self::String => "TYPE_NAME_STRING",
            Self::Bytes => "TYPE_NAME_BYTES",
            Self::Duration => "TYPE_NAME_DURATION",
            Self::Timestamp => "TYPE_NAME_TIMESTAMP",
            Self::IpAddress => "TYPE_NAME_IPADDRESS",
            Self::List(_) => "TYPE_NAME_LIST",
            Self::Map(_) => "TYPE_NAME_MAP",
        }
    }

    /// The schema name of the outer type (`list` for `list<int>`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Bool => "bool",
            Self::Int => "int",
            Self::Uint => "uint",
            Self::Double => "double",
            Self::String => "string",
            Self::Bytes => "bytes",
            Self::Duration => "duration",
            Self::Timestamp => "timestamp",
            Self::IpAddress => "ipaddress",
            Self::List(_) => "list",
            Self::Map(_) => "map",
        }
    }

    /// The generic argument of `list<T>` / `map<T>`.
    pub fn element(&self) -> Option<&CaveatType> {
        match self {
            Self::List(t) | Self::Map(t) => Some(t),
            _ => None,
        }
    }
}

impl fmt::Display for CaveatType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self.element() {
            Some(t) => write!(f, "<{t}>"),
            None => Ok(()),
        }
    }
}

/// The error for parameter `parameter` of caveat `caveat` declared with type text `text`, which
/// names no [`CaveatType`]: rule `unknown-caveat-parameter-type`, at the type.
pub(crate) fn unknown_parameter_type(
    position: Position,
    caveat: &str,
    parameter: &str,
    text: &str,
) -> Error {
    Error::SchemaInvalid {
        position,
        rule: "unknown-caveat-parameter-type",
        message: format!("caveat `{caveat}`: parameter `{parameter}` has unknown type `{text}`"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_type_prints_back_to_its_schema_text() {
        for text in [
            "any",
            "bool",
            "int",
            "uint",
            "double",
            "string",
            "bytes",
            "duration",
            "timestamp",
            "ipaddress",
            "list<string>",
            "map<int>",
            "list<map<list<ipaddress>>>",
        ] {
            let t = CaveatType::parse(text).unwrap();
            assert_eq!(t.to_string(), text);
            let args: Vec<_> = t.element().cloned().into_iter().collect();
            assert_eq!(
                CaveatType::from_openfga_type_name(t.openfga_type_name(), args),
                Some(t)
            );
        }
    }

    #[test]
    fn unknown_names_and_wrong_generic_counts_are_refused() {
        for text in [
            "integer",
            "Int",
            "list",
            "map",
            "int<int>",
            "list<int, int>",
            "map<int, int>",
            "list<foo>",
            "list<int",
            "list<int>>",
            "",
        ] {
            assert_eq!(CaveatType::parse(text), None, "{text}");
        }
        assert_eq!(
            CaveatType::parse("map<string, int>"),
            Some(CaveatType::Map(Box::new(CaveatType::Int)))
        );
        assert_eq!(
            CaveatType::from_openfga_type_name("TYPE_NAME_int", vec![]),
            None
        );
        assert_eq!(CaveatType::from_openfga_type_name("int", vec![]), None);
    }

    #[test]
    fn nesting_is_bounded() {
        let n = CaveatType::MAX_NESTING;
        let deep = |n: usize| format!("{}int{}", "list<".repeat(n), ">".repeat(n));
        assert!(CaveatType::parse(&deep(n)).is_some());
        assert_eq!(CaveatType::parse(&deep(n + 1)), None);
        assert_eq!(CaveatType::parse(&deep(100_000)), None);
    }
}
