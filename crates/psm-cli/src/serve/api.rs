//! The API's error responses (`{"error": {"code": .., "message": ..}}` with a fitting status)
//! and a JSON body extractor whose rejections use the same shape.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::CliError;

/// An error answered as JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// Any status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request is malformed or breaks a rule.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_input", message)
    }

    /// 400 naming the field and the rule it breaks: `FIELD: RULE`.
    pub fn invalid_field(field: &str, rule: &str) -> Self {
        Self::bad_request(format!("{field}: {rule}"))
    }

    /// The message, for tests.
    #[cfg(test)]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// 409: the server's state does not allow the request yet.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 501: the store cannot do this.
    pub fn not_implemented(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, "not_supported", message)
    }

    /// 400 when a batch is larger than `max`.
    pub fn check_batch(len: usize, max: usize, what: &str) -> Result<(), Self> {
        if len > max {
            Err(Self::new(
                StatusCode::BAD_REQUEST,
                "batch_too_large",
                format!("{len} {what} in one request; at most {max} are accepted"),
            ))
        } else {
            Ok(())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<CliError> for ApiError {
    fn from(e: CliError) -> Self {
        match e {
            CliError::Input(m) => Self::bad_request(m),
            CliError::Backend(m) => Self::new(StatusCode::SERVICE_UNAVAILABLE, "backend", m),
        }
    }
}

impl From<psm_rebac::Error> for ApiError {
    fn from(e: psm_rebac::Error) -> Self {
        use psm_rebac::Error as E;
        match e {
            E::PreconditionFailed { .. } | E::AlreadyExists { .. } => {
                Self::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            // A revision newer than the store's head: from another store, or a client bug.
            E::RevisionNotIssued { .. } => {
                Self::new(StatusCode::CONFLICT, "revision_not_issued", e.to_string())
            }
            // The change log no longer holds every change after the revision: resync.
            E::ChangesPruned { .. } => Self::new(StatusCode::GONE, "changes_pruned", e.to_string()),
            E::MissingContext { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "missing_context", e.to_string())
            }
            E::CaveatEvaluation { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "caveat_evaluation", e.to_string())
            }
            E::Unsupported {
                feature: "change log",
                ..
            } => Self::not_implemented(e.to_string()),
            other => CliError::from(other).into(),
        }
    }
}

impl From<psm_core::Error> for ApiError {
    fn from(e: psm_core::Error) -> Self {
        CliError::from(e).into()
    }
}

/// `axum::Json` whose rejections (bad JSON, wrong content type, too large) answer in the API's
/// error shape.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => {
                let status = rejection.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "body_too_large"
                } else {
                    "invalid_body"
                };
                Err(ApiError::new(status, code, rejection.body_text()))
            }
        }
    }
}
