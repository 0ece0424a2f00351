//! Optional bearer-token protection of the API: `Authorization: Bearer TOKEN`, compared in
//! constant time; a missing or wrong token gets 401 and nothing else runs.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use psm_core::ErrorKind;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::Error;
use crate::state::AppState;

/// Lets the request through when no token is configured or the right one is presented.
pub async fn require_token(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(expected) = &state.token else {
        return next.run(req).await;
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    if presented.is_some_and(|p| token_matches(p, expected)) {
        return next.run(req).await;
    }
    let mut resp =
        Error::new(ErrorKind::Unauthorized, "a valid bearer token is required").into_response();
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

/// The token of an `Authorization: Bearer TOKEN` value; the scheme is case-insensitive (as
/// every HTTP authentication scheme is) and may be followed by more than one space.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Compares SHA-256 digests of both tokens in constant time: the time taken depends on neither
/// the expected token's bytes nor its length (comparing the raw bytes would fail at once on a
/// length mismatch, telling a prober how long the token is).
fn token_matches(presented: &str, expected: &str) -> bool {
    let (p, e) = (Sha256::digest(presented), Sha256::digest(expected));
    p.as_slice().ct_eq(e.as_slice()).into()
}

#[cfg(test)]
mod tests {
    use super::{bearer_token, token_matches};

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for v in ["Bearer t0k", "bearer t0k", "BEARER t0k", "bEaReR  t0k"] {
            assert_eq!(bearer_token(v), Some("t0k"), "{v}");
        }
        for v in ["Basic t0k", "Bearer", "Bearer ", "Bearert0k"] {
            assert_eq!(bearer_token(v), None, "{v}");
        }
    }

    #[test]
    fn only_the_exact_token_matches() {
        let t = "0123456789abcdef";
        assert!(token_matches(t, t));
        assert!(!token_matches("0123456789abcdeF", t));
        assert!(!token_matches("0123456789abcde", t));
        assert!(!token_matches("", t));
    }
}
