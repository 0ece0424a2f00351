//! [`Error`], the one error of the server and of the `psm` command: an [`ErrorKind`] (which
//! decides the HTTP status and the exit code, in psm-core), a message and the field at fault;
//! answered as [`ErrorBody`] JSON. Every crate's error converts into it keeping its kind. And
//! [`ApiJson`], a JSON body extractor whose rejections use the same shape.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use psm_core::{ErrorBody, ErrorKind};
use serde::de::DeserializeOwned;

/// `Result` with the server's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure of a request or of a command.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    field: Option<String>,
}

impl Error {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            field: None,
        }
    }

    /// [`ErrorKind::InvalidInput`].
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// [`ErrorKind::Unavailable`]: the store or the host failed.
    pub fn backend(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// [`ErrorKind::InvalidInput`] naming the field and the rule it breaks: `FIELD: RULE`.
    pub fn invalid_field(field: &str, rule: &str) -> Self {
        Self::input(format!("{field}: {rule}")).with_field(field)
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The field at fault, if any.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The process exit code of a command that failed with this error.
    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        let body = ErrorBody::new(self.kind, self.message.clone());
        match &self.field {
            Some(f) => body.with_field(f.clone()),
            None => body,
        }
    }

    /// [`ErrorKind::BatchTooLarge`] (413) when a batch is larger than `max`.
    pub fn check_batch(len: usize, max: usize, what: &str) -> Result<()> {
        if len > max {
            Err(Self::new(
                ErrorKind::BatchTooLarge,
                format!("{len} {what} in one request; at most {max} are accepted"),
            ))
        } else {
            Ok(())
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.kind.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self.body())).into_response()
    }
}

impl From<psm_core::Error> for Error {
    fn from(e: psm_core::Error) -> Self {
        let out = Self::new(e.kind(), e.to_string());
        match e.field() {
            Some(f) => out.with_field(f),
            None => out,
        }
    }
}

/// The kind of a relationship-engine error.
pub fn rebac_kind(e: &psm_rebac::Error) -> ErrorKind {
    use psm_rebac::Error as E;
    match e {
        // The stored state refuses the request: a relationship that exists, a type, relation
        // or caveat the stored schema does not define or allow (the same request succeeds once
        // the schema has it), one relationship updated twice in one write.
        E::PreconditionFailed { .. }
        | E::AlreadyExists { .. }
        | E::UnknownType { .. }
        | E::UnknownRelation { .. }
        | E::RelationshipNotAllowed { .. }
        | E::RepeatedRelationship { .. } => ErrorKind::Conflict,
        E::RevisionNotIssued { .. } => ErrorKind::RevisionNotIssued,
        E::ChangesPruned { .. } => ErrorKind::ChangesPruned,
        E::MissingContext { .. } => ErrorKind::MissingContext,
        E::CaveatEvaluation { .. } => ErrorKind::CaveatEvaluation,
        // A server-side bound the data, not the request's size, went past.
        E::DepthExceeded { .. } => ErrorKind::LimitExceeded,
        E::Unsupported { .. } => ErrorKind::NotSupported,
        E::Store(s) => store_kind(s.kind()),
        E::BudgetExceeded { bound, .. } => budget_kind(*bound),
        _ => ErrorKind::InvalidInput,
    }
}

/// The kind of a request that went past a bound of its budget: its deadline is a timeout
/// (503), a cancellation (the server shutting down) unavailable (503), the rest too much work
/// for one request (422).
fn budget_kind(bound: psm_rebac::Bound) -> ErrorKind {
    use psm_rebac::Bound as B;
    match bound {
        B::Deadline => ErrorKind::Timeout,
        B::Cancelled => ErrorKind::Unavailable,
        _ => ErrorKind::BudgetExceeded,
    }
}

/// The kind of a tuple store's failure, by its [`StoreErrorKind`](psm_rebac::StoreErrorKind).
fn store_kind(kind: psm_rebac::StoreErrorKind) -> ErrorKind {
    use psm_rebac::StoreErrorKind as S;
    match kind {
        S::Timeout => ErrorKind::Timeout,
        S::Limit => ErrorKind::LimitExceeded,
        // unreachable, closed, undecodable data (as psm-core's `Corrupt`), or unclassified
        _ => ErrorKind::Unavailable,
    }
}

impl From<psm_rebac::Error> for Error {
    fn from(e: psm_rebac::Error) -> Self {
        Self::new(rebac_kind(&e), e.to_string())
    }
}

impl From<psm_acl::Error> for Error {
    fn from(e: psm_acl::Error) -> Self {
        match e {
            psm_acl::Error::Io { .. } => Self::backend(e.to_string()),
            _ => Self::input(e.to_string()),
        }
    }
}

/// `axum::Json` whose rejections answer in the API's error shape: 400 for a body that is not
/// JSON, 422 naming the field for one of the wrong shape (an unknown or missing field, a wrong
/// type), 415 without a JSON content type, 413 when too large.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(rejection_error(&rejection)),
        }
    }
}

fn rejection_error(rejection: &JsonRejection) -> Error {
    let text = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => {
            let e = Error::new(ErrorKind::InvalidBody, text.clone());
            match field_of(&text) {
                Some(f) => e.with_field(f),
                None => e,
            }
        }
        JsonRejection::JsonSyntaxError(_) => Error::new(ErrorKind::MalformedBody, text),
        JsonRejection::MissingJsonContentType(_) => {
            Error::new(ErrorKind::UnsupportedMediaType, text)
        }
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Error::new(ErrorKind::BodyTooLarge, text)
        }
        _ => Error::new(ErrorKind::MalformedBody, text),
    }
}

/// The field serde names in a data error: `unknown field `x``, `missing field `x``, or the path
/// before `: invalid type` (`items[0].subject: ...`).
fn field_of(text: &str) -> Option<String> {
    for marker in ["unknown field `", "missing field `"] {
        if let Some(rest) = text.split_once(marker).map(|(_, r)| r) {
            return rest.split_once('`').map(|(f, _)| f.to_owned());
        }
    }
    let detail = text.split_once(": ").map(|(_, r)| r)?;
    let (path, _) = detail.split_once(": ")?;
    (!path.is_empty() && path != "." && !path.contains(' ')).then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{field_of, rebac_kind};
    use psm_core::ErrorKind;
    use psm_rebac::Bound;
    use psm_rebac::{Error as RebacError, StoreErrorKind as S};

    #[test]
    fn budget_errors_map_by_bound() {
        let cases = [
            (Bound::Steps, ErrorKind::BudgetExceeded, 422),
            (Bound::Results, ErrorKind::BudgetExceeded, 422),
            (Bound::CaveatCost, ErrorKind::BudgetExceeded, 422),
            (Bound::Deadline, ErrorKind::Timeout, 503),
            (Bound::Cancelled, ErrorKind::Unavailable, 503),
        ];
        for (bound, want, status) in cases {
            let kind = rebac_kind(&RebacError::BudgetExceeded { bound, limit: 1 });
            assert_eq!(kind, want, "{bound}");
            assert_eq!(kind.http_status(), status, "{bound}");
        }
    }

    #[test]
    fn store_errors_map_by_kind() {
        let cases = [
            (S::Timeout, ErrorKind::Timeout, 503),
            (S::Unavailable, ErrorKind::Unavailable, 503),
            (S::Closed, ErrorKind::Unavailable, 503),
            (S::Limit, ErrorKind::LimitExceeded, 500),
            (S::Corrupt, ErrorKind::Unavailable, 503),
            (S::Other, ErrorKind::Unavailable, 503),
        ];
        for (store, want, status) in cases {
            // the same message for every kind: only the kind decides
            let kind = rebac_kind(&RebacError::store(store, "statement failed"));
            assert_eq!(kind, want, "{store}");
            assert_eq!(kind.http_status(), status, "{store}");
        }
    }

    #[test]
    fn serde_errors_name_their_field() {
        assert_eq!(
            field_of("Failed to deserialize the JSON body into the target type: unknown field `x`, expected one of `a`, `b` at line 1 column 5").as_deref(),
            Some("x")
        );
        assert_eq!(
            field_of("Failed to deserialize the JSON body into the target type: missing field `user_id` at line 1 column 2").as_deref(),
            Some("user_id")
        );
        assert_eq!(
            field_of("Failed to deserialize the JSON body into the target type: items[0].subject: invalid type: integer `3`, expected a string at line 1 column 30").as_deref(),
            Some("items[0].subject")
        );
    }
}
