//! psm-axum's rejections are psm's one JSON error shape, `psm_core::ErrorBody` (the type
//! psm-server answers with): each body parses as an `ErrorBody` whose code is the
//! `ErrorKind`'s, with the status that kind maps to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::response::IntoResponse;
use psm_axum::AuthzRejection;
use psm_core::{ErrorBody, ErrorKind};

#[tokio::test]
async fn every_rejection_is_an_error_body_of_its_kind() {
    let cases = [
        (
            AuthzRejection::Unauthenticated {
                detail: "no credentials",
            },
            ErrorKind::Unauthorized,
            "no credentials",
        ),
        (
            AuthzRejection::Forbidden {
                required: vec!["a:b".into(), "c".into()],
                mode: "any",
            },
            ErrorKind::Forbidden,
            "requires any of: a:b, c",
        ),
        (
            AuthzRejection::Unavailable {
                detail: "permissions provider unavailable",
            },
            ErrorKind::Unavailable,
            "permissions provider unavailable",
        ),
        (
            AuthzRejection::Misconfigured {
                detail: "no permissions source",
            },
            ErrorKind::Internal,
            "no permissions source",
        ),
    ];
    for (rejection, kind, message) in cases {
        assert_eq!(rejection.kind(), kind);
        let response = rejection.clone().into_response();
        assert_eq!(
            response.status().as_u16(),
            kind.http_status(),
            "{rejection}"
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{rejection}"
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let parsed: ErrorBody = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed, ErrorBody::new(kind, message), "{rejection}");
        // exactly {"error": {"code", "message"}}: no stray fields
        let raw: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            raw,
            serde_json::json!({"error": {"code": kind.code(), "message": message}})
        );
    }
}
