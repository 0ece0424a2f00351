//! `AuthzRejection`: the 401 / 403 / 503 / 500 answers of the layers and extractors, as JSON
//! bodies in psm's one error shape `{"error": {"code": "...", "message": "..."}}`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use psm_core::ErrorBody;
use serde_json::{Value, json};

/// Why a request was refused. Every variant is a refusal: nothing here ever lets a request
/// through.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AuthzRejection {
    /// 401: no principal, or credentials that do not authenticate.
    Unauthenticated {
        /// Why (`no credentials`, `token expired`, ...).
        detail: &'static str,
    },
    /// 403: the principal lacks the required permissions.
    Forbidden {
        /// The permissions the route requires.
        required: Vec<String>,
        /// `all` or `any`.
        mode: &'static str,
    },
    /// 503: the permissions (or the session) could not be fetched; the request is refused.
    Unavailable {
        /// Which dependency failed (`permissions provider`, `session store`).
        detail: &'static str,
    },
    /// 500: the application wired no permissions source for this route.
    Misconfigured {
        /// What is missing.
        detail: &'static str,
    },
}

impl AuthzRejection {
    /// The HTTP status of this rejection.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthzRejection::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            AuthzRejection::Forbidden { .. } => StatusCode::FORBIDDEN,
            AuthzRejection::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AuthzRejection::Misconfigured { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body of this rejection, in psm's one error shape (`psm_core::ErrorBody`):
    /// `{"error": {"code", "message"}}`.
    pub fn body(&self) -> Value {
        let body = match self {
            AuthzRejection::Unauthenticated { detail } => {
                ErrorBody::with_code("unauthenticated", *detail)
            }
            AuthzRejection::Forbidden { required, mode } => ErrorBody::with_code(
                "forbidden",
                format!("requires {mode} of: {}", required.join(", ")),
            ),
            AuthzRejection::Unavailable { detail } => ErrorBody::with_code("unavailable", *detail),
            AuthzRejection::Misconfigured { detail } => {
                ErrorBody::with_code("misconfigured", *detail)
            }
        };
        json!(body)
    }
}

impl IntoResponse for AuthzRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(self.body())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl std::fmt::Display for AuthzRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status().as_u16(), self.body())
    }
}

impl std::error::Error for AuthzRejection {}
