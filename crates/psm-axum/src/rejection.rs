//! `AuthzRejection`: the 401 / 403 / 503 / 500 answers of the layers and extractors, as JSON
//! bodies in psm's one error shape ([`psm_core::ErrorBody`], shared with psm-server):
//! `{"error": {"code": "...", "message": "..."}}`, the code and status from
//! [`psm_core::ErrorKind`].

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use psm_core::{ErrorBody, ErrorKind};

/// Why a request was refused. Every variant is a refusal: nothing here ever lets a request
/// through.
///
/// The answer carries no `WWW-Authenticate` header of its own: the
/// [`AuthenticateLayer`](crate::AuthenticateLayer) adds its authenticator's
/// [challenge](crate::Authenticator::challenge) to every 401 below it: `Bearer` for the JWT
/// authenticator, none for sessions named by a header or a cookie.
///
/// ```
/// use psm_axum::AuthzRejection;
/// let r = AuthzRejection::Forbidden { required: vec!["posts:delete".into()], mode: "all" };
/// assert_eq!(r.status(), 403);
/// assert_eq!(
///     serde_json::to_string(&r.body()).unwrap(),
///     r#"{"error":{"code":"forbidden","message":"requires all of: posts:delete"}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AuthzRejection {
    /// 401 (`unauthorized`): no principal, or credentials that do not authenticate.
    Unauthenticated {
        /// Why (`no credentials`, `token expired`, ...).
        detail: &'static str,
    },
    /// 403 (`forbidden`): the principal lacks the required permissions.
    Forbidden {
        /// The permissions the route requires.
        required: Vec<String>,
        /// `all` or `any`.
        mode: &'static str,
    },
    /// 503 (`unavailable`): the permissions (or the session) could not be fetched; the request
    /// is refused.
    Unavailable {
        /// Which dependency failed (`permissions provider`, `session store`).
        detail: &'static str,
    },
    /// 500 (`internal`): the application wired no permissions source for this route.
    Misconfigured {
        /// What is missing.
        detail: &'static str,
    },
}

impl AuthzRejection {
    /// The kind of failure, which decides the status and the body's code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuthzRejection::Unauthenticated { .. } => ErrorKind::Unauthorized,
            AuthzRejection::Forbidden { .. } => ErrorKind::Forbidden,
            AuthzRejection::Unavailable { .. } => ErrorKind::Unavailable,
            AuthzRejection::Misconfigured { .. } => ErrorKind::Internal,
        }
    }

    /// The HTTP status of this rejection.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.kind().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The JSON body of this rejection, in psm's one error shape:
    /// `{"error": {"code", "message"}}`.
    pub fn body(&self) -> ErrorBody {
        let message = match self {
            AuthzRejection::Forbidden { required, mode } => {
                format!("requires {mode} of: {}", required.join(", "))
            }
            AuthzRejection::Unauthenticated { detail }
            | AuthzRejection::Unavailable { detail }
            | AuthzRejection::Misconfigured { detail } => (*detail).to_owned(),
        };
        ErrorBody::new(self.kind(), message)
    }
}

impl IntoResponse for AuthzRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(self.body())).into_response();
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
        let body = self.body();
        write!(
            f,
            "{} {}: {}",
            self.status().as_u16(),
            body.error.code,
            body.error.message
        )
    }
}

impl std::error::Error for AuthzRejection {}
