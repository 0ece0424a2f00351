//! The example application's handlers.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use psm_axum::{Authenticated, AuthzRejection, Permissions};
use psm_core::{ErrorBody, ErrorKind, NewSession, generate_session_id};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;

/// An error answer in psm's one JSON error shape, its status from its kind.
fn error(body: ErrorBody, kind: ErrorKind) -> Response {
    let status =
        StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(body)).into_response()
}

fn failed(kind: ErrorKind, message: &str) -> Response {
    error(ErrorBody::new(kind, message), kind)
}

/// A request body that is not the expected JSON: 400 (`malformed_body`, not JSON), 415
/// (`unsupported_media_type`) or 422 (`invalid_body`, another shape), in the one shape.
fn bad_body(rejection: &JsonRejection) -> Response {
    let kind = match rejection {
        JsonRejection::MissingJsonContentType(_) => ErrorKind::UnsupportedMediaType,
        JsonRejection::JsonSyntaxError(_) => ErrorKind::MalformedBody,
        _ => ErrorKind::InvalidBody,
    };
    failed(kind, &rejection.body_text())
}

fn unavailable(e: &psm_core::Error) -> Response {
    tracing::warn!(error = %e, "session store failed");
    failed(ErrorKind::Unavailable, "session store unavailable")
}

#[derive(Debug, Deserialize)]
pub(crate) struct Login {
    username: String,
}

pub(crate) async fn login(
    State(app): State<AppState>,
    body: Result<Json<Login>, JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(body)) => body,
        Err(rejection) => return bad_body(&rejection),
    };
    let Some(permissions) = app.users.permissions(&body.username) else {
        return failed(ErrorKind::Unauthorized, "unknown user");
    };
    let id = match generate_session_id() {
        Ok(id) => id,
        Err(e) => return unavailable(&e),
    };
    let new = NewSession::new(id, body.username)
        .permissions(permissions)
        .ttl(app.session_ttl);
    let session = match app.store.store_session(new).await {
        Ok(s) => s,
        Err(e) => return unavailable(&e),
    };
    let cookie = match app.cookie.set(&session.session_id, Some(app.session_ttl)) {
        Ok(c) => c,
        Err(e) => return failed(ErrorKind::Internal, &e.to_string()),
    };
    (
        [(header::SET_COOKIE, cookie)],
        Json(json!({
            "session_id": session.session_id,
            "user": session.user_id,
            "permissions": session.permissions,
        })),
    )
        .into_response()
}

pub(crate) async fn logout(
    State(app): State<AppState>,
    Authenticated(who): Authenticated,
) -> Response {
    let Some(id) = who.session_id else {
        return AuthzRejection::Unauthenticated {
            detail: "no session",
        }
        .into_response();
    };
    match app.store.invalidate_session(&id).await {
        Ok(was_live) => (
            [(header::SET_COOKIE, app.cookie.clear())],
            Json(json!({"logged_out": was_live})),
        )
            .into_response(),
        Err(e) => unavailable(&e),
    }
}

pub(crate) async fn me(Authenticated(who): Authenticated, perms: Permissions) -> Json<Value> {
    Json(json!({"user": who.subject, "permissions": perms.to_vec()}))
}

pub(crate) async fn health(State(app): State<AppState>) -> Response {
    let health = app.store.health_check().await;
    let status = if health.is_healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({"healthy": health.is_healthy(), "backend": health.backend})),
    )
        .into_response()
}

pub(crate) async fn list_posts() -> Json<Value> {
    Json(json!({"posts": [{"id": 1, "title": "Hello"}, {"id": 2, "title": "psm"}]}))
}

pub(crate) async fn create_post() -> (StatusCode, Json<Value>) {
    (
        StatusCode::CREATED,
        Json(json!({"message": "post created"})),
    )
}

pub(crate) async fn delete_post(Path(id): Path<u64>) -> Json<Value> {
    Json(json!({"message": format!("post {id} deleted")}))
}

#[derive(Debug, Deserialize)]
pub(crate) struct PermissionRequest {
    username: String,
    permission: String,
}

pub(crate) async fn grant(
    State(app): State<AppState>,
    req: Result<Json<PermissionRequest>, JsonRejection>,
) -> Response {
    match req {
        Ok(Json(req)) => change(app, req, true).await,
        Err(rejection) => bad_body(&rejection),
    }
}

pub(crate) async fn revoke(
    State(app): State<AppState>,
    req: Result<Json<PermissionRequest>, JsonRejection>,
) -> Response {
    match req {
        Ok(Json(req)) => change(app, req, false).await,
        Err(rejection) => bad_body(&rejection),
    }
}

/// Changes the directory, then every live session of the user (through the store, so caches
/// on every instance are invalidated).
async fn change(app: AppState, req: PermissionRequest, grant: bool) -> Response {
    let changed = if grant {
        app.users.grant(&req.username, &req.permission)
    } else {
        app.users.revoke(&req.username, &req.permission)
    };
    match changed {
        Err(e) => return error(ErrorBody::from(&e).with_field("permission"), e.kind()),
        Ok(None) => return unknown_user(),
        Ok(Some(_)) => {}
    }
    let permissions = app.users.permissions(&req.username).unwrap_or_default();
    let sessions = match app.store.list_sessions(&req.username).await {
        Ok(s) => s,
        Err(e) => return unavailable(&e),
    };
    let mut updated = 0u64;
    for id in &sessions {
        match app.store.update_permissions(id, &permissions, None).await {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(e) => return unavailable(&e),
        }
    }
    let verb = if grant { "granted to" } else { "revoked from" };
    Json(json!({
        "message": format!("Permission {} {} {}", req.permission, verb, req.username),
        "sessions_updated": updated,
    }))
    .into_response()
}

pub(crate) async fn list_user(
    State(app): State<AppState>,
    Path(username): Path<String>,
) -> Response {
    match app.users.permissions(&username) {
        Some(p) => Json(json!({"username": username, "permissions": p})).into_response(),
        None => unknown_user(),
    }
}

fn unknown_user() -> Response {
    error(
        ErrorBody::new(ErrorKind::NotFound, "unknown user").with_field("username"),
        ErrorKind::NotFound,
    )
}
