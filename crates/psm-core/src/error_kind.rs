//! What kind of failure an error is — with, in this one place, its HTTP status, its `psm` exit
//! code and its stable code — and [`ErrorBody`], the one JSON error shape of the HTTP server,
//! psm-axum and the CLI's `--json`: `{"error": {"code", "message", "field"?}}`.
//!
//! ```
//! use psm_core::{ErrorBody, ErrorKind};
//! let body = ErrorBody::new(ErrorKind::InvalidInput, "session_id: must not be empty")
//!     .with_field("session_id");
//! assert_eq!(ErrorKind::InvalidInput.http_status(), 400);
//! assert_eq!(ErrorKind::InvalidInput.exit_code(), 2);
//! assert_eq!(
//!     serde_json::to_string(&body)?,
//!     r#"{"error":{"code":"invalid_input","message":"session_id: must not be empty","field":"session_id"}}"#
//! );
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::Error;

/// The kinds of failure. Statuses follow one rule: 4xx only when the request itself is wrong
/// (or too big), 5xx when the server or its store could not answer — a limit of the server's
/// own configuration that the request did not break by its size (an evaluation depth) is 5xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A value breaks a rule (an id, a permission, a relationship, a schema): 400, exit 2.
    InvalidInput,
    /// The request body is not JSON: 400, exit 2.
    MalformedBody,
    /// The body is JSON but not of the expected shape (a missing or unknown field, a wrong
    /// type): 422, exit 2.
    InvalidBody,
    /// The body is not `application/json`: 415, exit 2.
    UnsupportedMediaType,
    /// The body is larger than the server accepts: 413, exit 2.
    BodyTooLarge,
    /// More items in one request than the server accepts: 413, exit 2.
    BatchTooLarge,
    /// No credentials, or wrong ones: 401, exit 2.
    Unauthorized,
    /// Credentials that do not allow this: 403, exit 1.
    Forbidden,
    /// The thing asked about does not exist (a session, a route): 404, exit 1.
    NotFound,
    /// The route exists but not with this method: 405, exit 2.
    MethodNotAllowed,
    /// The store's state refuses the request (a precondition, a relationship that exists): 409,
    /// exit 2.
    Conflict,
    /// No relationship schema has been written yet: 409, exit 2.
    NoSchema,
    /// A revision newer than the store has issued: 409, exit 2.
    RevisionNotIssued,
    /// The change log no longer holds the changes asked for; resync: 410, exit 2.
    ChangesPruned,
    /// A check needs caveat parameters the request did not give: 400, exit 2.
    MissingContext,
    /// A caveat could not be evaluated with the parameters given: 400, exit 2.
    CaveatEvaluation,
    /// This store cannot do this (relationships on a sessions-only URL): 501, exit 2.
    NotSupported,
    /// A store refused to grow past its configured bound: 507, exit 3.
    QuotaExceeded,
    /// The request asks for more work than its budget allows (evaluation steps, result size,
    /// the cost of a caveat): 422, exit 2. A narrower request can succeed.
    BudgetExceeded,
    /// The answer needs more than a server-side limit allows (an evaluation depth): 500,
    /// exit 3. Not the request's size: retrying the same request gets the same answer.
    LimitExceeded,
    /// The request or the store took longer than its deadline; a write's outcome is unknown:
    /// 503, exit 3.
    Timeout,
    /// The store failed or could not be reached: 503, exit 3.
    Unavailable,
    /// A bug or an unexpected state: 500, exit 3.
    Internal,
}

impl ErrorKind {
    /// The HTTP status code.
    pub fn http_status(self) -> u16 {
        use ErrorKind as K;
        match self {
            K::InvalidInput | K::MalformedBody | K::MissingContext | K::CaveatEvaluation => 400,
            K::Unauthorized => 401,
            K::Forbidden => 403,
            K::NotFound => 404,
            K::MethodNotAllowed => 405,
            K::Conflict | K::NoSchema | K::RevisionNotIssued => 409,
            K::ChangesPruned => 410,
            K::BodyTooLarge | K::BatchTooLarge => 413,
            K::UnsupportedMediaType => 415,
            K::InvalidBody | K::BudgetExceeded => 422,
            K::LimitExceeded | K::Internal => 500,
            K::NotSupported => 501,
            K::Timeout | K::Unavailable => 503,
            K::QuotaExceeded => 507,
        }
    }

    /// The `psm` exit code: 1 denied or not found, 2 the request is wrong, 3 the store or the
    /// server failed.
    pub fn exit_code(self) -> u8 {
        use ErrorKind as K;
        match self {
            K::Forbidden | K::NotFound => 1,
            K::QuotaExceeded | K::LimitExceeded | K::Timeout | K::Unavailable | K::Internal => 3,
            _ => 2,
        }
    }

    /// The stable machine-readable code (`invalid_input`, `timeout`, ...).
    pub fn code(self) -> &'static str {
        use ErrorKind as K;
        match self {
            K::InvalidInput => "invalid_input",
            K::MalformedBody => "malformed_body",
            K::InvalidBody => "invalid_body",
            K::UnsupportedMediaType => "unsupported_media_type",
            K::BodyTooLarge => "body_too_large",
            K::BatchTooLarge => "batch_too_large",
            K::Unauthorized => "unauthorized",
            K::Forbidden => "forbidden",
            K::NotFound => "not_found",
            K::MethodNotAllowed => "method_not_allowed",
            K::Conflict => "conflict",
            K::NoSchema => "no_schema",
            K::RevisionNotIssued => "revision_not_issued",
            K::ChangesPruned => "changes_pruned",
            K::MissingContext => "missing_context",
            K::CaveatEvaluation => "caveat_evaluation",
            K::NotSupported => "not_supported",
            K::QuotaExceeded => "quota_exceeded",
            K::BudgetExceeded => "budget_exceeded",
            K::LimitExceeded => "limit_exceeded",
            K::Timeout => "timeout",
            K::Unavailable => "unavailable",
            K::Internal => "internal",
        }
    }
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidInput { .. }
            | Error::InvalidPermission(_)
            | Error::InvalidUrl { .. }
            | Error::UnknownScheme { .. }
            | Error::InvalidHierarchy { .. } => ErrorKind::InvalidInput,
            Error::QuotaExceeded { .. } => ErrorKind::QuotaExceeded,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Connection { .. }
            | Error::Corrupt { .. }
            | Error::Backend { .. }
            | Error::Closed => ErrorKind::Unavailable,
        }
    }

    /// The input field this error is about, when it is about one.
    pub fn field(&self) -> Option<String> {
        match self {
            Error::InvalidInput { field, .. } => Some(field.to_string()),
            _ => None,
        }
    }
}

/// The one JSON error shape: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable code, usually an [`ErrorKind::code`].
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// The request field (or flag) at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ErrorBody {
    /// A body of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::with_code(kind.code(), message)
    }

    /// A body with a code of its own (psm-axum's `forbidden`, ...).
    pub fn with_code(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
                field: None,
            },
        }
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.error.field = Some(field.into());
        self
    }
}

impl From<&Error> for ErrorBody {
    fn from(e: &Error) -> Self {
        let body = ErrorBody::new(e.kind(), e.to_string());
        match e.field() {
            Some(f) => body.with_field(f),
            None => body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_faults_are_4xx_and_exit_2_server_faults_5xx_and_exit_3() {
        let e = Error::invalid(crate::Field::SessionId, crate::Rule::Empty);
        assert_eq!(e.kind().http_status(), 400);
        assert_eq!(e.kind().exit_code(), 2);
        assert_eq!(
            ErrorBody::from(&e).error.field.as_deref(),
            Some("session_id")
        );
        assert_eq!(Error::Closed.kind().http_status(), 503);
        assert_eq!(Error::Closed.kind().exit_code(), 3);
        assert_eq!(ErrorKind::LimitExceeded.http_status(), 500);
        assert_eq!(ErrorKind::BatchTooLarge.http_status(), 413);
        assert_eq!(ErrorKind::NotFound.exit_code(), 1);
    }
}
