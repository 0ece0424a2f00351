//! How answers are rendered, shared by the server and the `psm` command: sessions, changes,
//! expansion trees, and schema errors with their line and column.

mod expand;

use psm_core::{Session, Timestamp};
use psm_rebac::{Change, ChangeOp, Error as RebacError};
use serde_json::{Value, json};

use crate::Error;

pub use expand::{MAX_EXPAND_SUBJECTS, tree_json, tree_text};

/// A session as JSON, with its remaining TTL in seconds.
pub fn session_json(s: &Session) -> Value {
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert(
            "ttl_remaining_seconds".into(),
            json!(s.ttl_remaining_at(Timestamp::now()).map(|d| d.as_secs())),
        );
    }
    v
}

/// `touch` or `delete`.
pub fn op_name(op: ChangeOp) -> &'static str {
    match op {
        ChangeOp::Touch => "touch",
        ChangeOp::Delete => "delete",
        _ => "other",
    }
}

/// One change as JSON: `{revision, op, relationship}` (the CLI's `--json` lines and the
/// server's changes route).
pub fn change_json(c: &Change) -> Value {
    json!({"revision": c.revision, "op": op_name(c.op), "relationship": c.relationship.to_string()})
}

/// Formats an error about line `line` (1-based) of `source`.
pub fn at_line(
    source: &str,
    line: usize,
    column: usize,
    message: impl std::fmt::Display,
) -> String {
    format!("{source}:{line}:{column}: {message}")
}

/// A schema error as `SOURCE:LINE:COLUMN: message`, or `SOURCE: message` without a position.
pub fn schema_error(source: &str, e: &RebacError) -> Error {
    match e {
        RebacError::SchemaSyntax {
            format,
            position,
            message,
        } => Error::input(at_line(
            source,
            position.line,
            position.column,
            format_args!("{format} syntax error: {message}"),
        )),
        RebacError::SchemaInvalid {
            position,
            rule,
            message,
        } => Error::input(at_line(
            source,
            position.line,
            position.column,
            format_args!("{rule}: {message}"),
        )),
        other => Error::input(format!("{source}: {other}")),
    }
}
