//! The one error type of psm-rebac: every failure names what was wrong, where, and which rule broke.

use std::fmt;

pub use crate::store_error::{StoreError, StoreErrorKind};

/// Which schema language a syntax error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SchemaFormat {
    /// The SpiceDB schema language (`definition`, `relation`, `permission`).
    SpiceDb,
    /// The OpenFGA DSL, schema 1.1.
    OpenFga,
    /// dj_magister's JSON schema.
    Json,
}

impl fmt::Display for SchemaFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SpiceDb => "SpiceDB schema",
            Self::OpenFga => "OpenFGA model",
            Self::Json => "JSON schema",
        })
    }
}

/// A position in a schema text: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Every error psm-rebac returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The schema text does not parse.
    #[error("{format}, {position}: syntax error: {message}")]
    SchemaSyntax {
        /// Which language was being parsed.
        format: SchemaFormat,
        /// Where the parser stopped.
        position: Position,
        /// What was expected or found.
        message: String,
    },
    /// The schema parses but breaks a semantic rule (unknown type, bad arrow, duplicate, ...).
    #[error("schema {position}: {rule}: {message}")]
    SchemaInvalid {
        /// Where the offending item is.
        position: Position,
        /// The rule that broke, e.g. `unknown-relation`.
        rule: &'static str,
        /// A human explanation naming the items.
        message: String,
    },
    /// A relationship, object or subject string does not parse.
    #[error("invalid relationship `{input}`: {reason}")]
    RelationshipSyntax {
        /// The text that was given (truncated to 200 characters).
        input: String,
        /// What rule it broke.
        reason: String,
    },
    /// A type, relation or object id breaks its naming rule.
    #[error("invalid {field} `{value}`: {rule}")]
    InvalidName {
        /// Which field (`object type`, `object id`, `relation`, ...).
        field: &'static str,
        /// The offending value (truncated to 200 characters).
        value: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A type named in a request or relationship is not in the schema.
    #[error("object definition `{object_type}` not found")]
    UnknownType {
        /// The missing type.
        object_type: String,
    },
    /// A relation or permission named in a request or relationship is not in the schema.
    #[error("relation `{object_type}#{relation}` not found")]
    UnknownRelation {
        /// The type searched.
        object_type: String,
        /// The missing relation.
        relation: String,
    },
    /// A relationship's subject type is not allowed on its relation, or it targets a permission.
    #[error("relationship `{relationship}` is not allowed: {reason}")]
    RelationshipNotAllowed {
        /// The relationship, printed.
        relationship: String,
        /// Why (e.g. "subjects of type `group` are not allowed on relation `document#reader`").
        reason: String,
    },
    /// A write precondition did not hold; nothing was written.
    #[error("precondition failed: a relationship matching {filter} must {}exist", if *.must_exist { "" } else { "not " })]
    PreconditionFailed {
        /// The filter, printed.
        filter: String,
        /// Whether the filter had to match (true) or had to match nothing (false).
        must_exist: bool,
    },
    /// A `create` found the relationship already present; nothing was written.
    #[error("relationship `{relationship}` already exists")]
    AlreadyExists {
        /// The relationship, printed.
        relationship: String,
    },
    /// The same relationship appears twice in one write.
    #[error("found repeated relationship `{relationship}` in one write")]
    RepeatedRelationship {
        /// The relationship, printed.
        relationship: String,
    },
    /// Evaluation went deeper than the configured limit.
    #[error("maximum depth {limit} exceeded while resolving the request")]
    DepthExceeded {
        /// The limit that was hit.
        limit: u32,
    },
    /// A store operation the tuple store does not implement (`change log`: revision, changes,
    /// pruning).
    #[error("{feature} not yet supported: {detail}")]
    Unsupported {
        /// What is missing (`change log`).
        feature: &'static str,
        /// What used it.
        detail: String,
    },
    /// A caveat (condition) could not be evaluated: undefined, a parameter of the wrong type, a
    /// stored context that is not a JSON object, or an expression that is not boolean.
    #[error("caveat `{caveat}`: {reason}")]
    CaveatEvaluation {
        /// The caveat's name.
        caveat: String,
        /// What went wrong.
        reason: String,
    },
    /// The answer depends on caveat parameters nobody supplied, and the request asked for a
    /// definite answer (OpenFGA's behaviour; SpiceDB answers "conditional" instead).
    #[error("missing context parameters: {}", .parameters.join(", "))]
    MissingContext {
        /// The parameters that were needed.
        parameters: Vec<String>,
    },
    /// A lookup cursor was not produced by this engine for this request.
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    /// A read asked to be at least as fresh as a revision newer than the store's head: the
    /// store never issued it (a token from another store, or a client's own invention).
    #[error("revision {requested} was never issued by this store (its head is {head})")]
    RevisionNotIssued {
        /// The revision asked for.
        requested: u64,
        /// The store's head revision when the request was made.
        head: u64,
    },
    /// Changes after `after` are no longer all in the change log (pruned, or made by an
    /// unlogged bulk load or reset up to `horizon`): the watcher must resync — read the
    /// current state at the store's head and watch from that revision.
    #[error(
        "changes after revision {after} were pruned up to revision {horizon}: resync (read the current state) and watch from the head revision"
    )]
    ChangesPruned {
        /// The revision the watcher asked for changes after.
        after: u64,
        /// The newest revision whose changes may be missing from the log.
        horizon: u64,
    },
    /// A request went past a bound of its budget (see
    /// [`EngineConfig`](crate::EngineConfig)): too many evaluation steps, too large a result,
    /// its deadline, a cancellation, or a caveat too costly to evaluate.
    #[error("request budget exceeded: {}", budget_message(*.bound, *.limit))]
    BudgetExceeded {
        /// The bound that was exceeded.
        bound: crate::engine::Bound,
        /// Its limit (milliseconds for the deadline, 0 for a cancellation).
        limit: u64,
    },
    /// The tuple store failed; [`StoreError::kind`] says how (timeout, unavailable, closed,
    /// limit, corrupt, other).
    #[error("tuple store error: {0}")]
    Store(#[from] StoreError),
}

impl Error {
    /// A store error of `kind` without a source.
    pub fn store(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        Self::Store(StoreError::new(kind, message))
    }

    /// The store error's kind, when this is a store error.
    pub fn store_kind(&self) -> Option<StoreErrorKind> {
        match self {
            Self::Store(e) => Some(e.kind()),
            _ => None,
        }
    }
}

fn budget_message(bound: crate::engine::Bound, limit: u64) -> String {
    match bound {
        crate::engine::Bound::Cancelled => "the request was cancelled".to_owned(),
        b => format!("{b} limit {limit} exceeded ({})", b.as_str()),
    }
}

/// `Result` with psm-rebac's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Truncates user input placed in an error message.
pub(crate) fn clip(s: &str) -> String {
    if s.chars().count() <= 200 {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(200).collect();
        out.push('…');
        out
    }
}
