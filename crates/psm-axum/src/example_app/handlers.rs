//! The example application's handlers.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use psm_core::{NewSession, generate_session_id};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use crate::{Authenticated, AuthzRejection, Permissions};

/// A JSON error answer.
fn error(status: StatusCode, error: &str, detail: impl Into<Value>) -> Response {
    (
        status,
        Json(json!({"error": error, "detail": detail.into()})),
    )
        .into_response()
}

fn unavailable(e: &psm_core::Error) -> Response {
    tracing::warn!(error = %e, "session store failed");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "session store unavailable",
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct Login {
    username: String,
}

pub(super) async fn login(State(app): State<AppState>, Json(body): Json<Login>) -> Response {
    let Some(permissions) = app.users.permissions(&body.username) else {
        return error(StatusCode::UNAUTHORIZED, "unauthenticated", "unknown user");
    };
    let id = match generate_session_id() {
        Ok(id) => id,
        Err(e) => return unavailable(&e),
    };
    let new = NewSession::new(id, body.username)
        .permissions(permissions)
        .ttl(app.session_ttl);
    match app.store.store_session(new).await {
        Ok(s) => Json(json!({
            "session_id": s.session_id,
            "user": s.user_id,
            "permissions": s.permissions,
        }))
        .into_response(),
        Err(e) => unavailable(&e),
    }
}

pub(super) async fn logout(
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
        Ok(was_live) => Json(json!({"logged_out": was_live})).into_response(),
        Err(e) => unavailable(&e),
    }
}

pub(super) async fn me(Authenticated(who): Authenticated, perms: Permissions) -> Json<Value> {
    Json(json!({"user": who.subject, "permissions": perms.to_vec()}))
}

pub(super) async fn health(State(app): State<AppState>) -> Response {
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

pub(super) async fn list_posts() -> Json<Value> {
    Json(json!({"posts": [{"id": 1, "title": "Hello"}, {"id": 2, "title": "psm"}]}))
}

pub(super) async fn create_post() -> (StatusCode, Json<Value>) {
    (
        StatusCode::CREATED,
        Json(json!({"message": "post created"})),
    )
}

pub(super) async fn delete_post(Path(id): Path<u64>) -> Json<Value> {
    Json(json!({"message": format!("post {id} deleted")}))
}

#[derive(Debug, Deserialize)]
pub(super) struct PermissionRequest {
    username: String,
    permission: String,
}

pub(super) async fn grant(
    State(app): State<AppState>,
    Json(req): Json<PermissionRequest>,
) -> Response {
    change(app, req, true).await
}

pub(super) async fn revoke(
    State(app): State<AppState>,
    Json(req): Json<PermissionRequest>,
) -> Response {
    change(app, req, false).await
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
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_permission", e.to_string()),
        Ok(None) => return error(StatusCode::NOT_FOUND, "not_found", "unknown user"),
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

pub(super) async fn list_user(
    State(app): State<AppState>,
    Path(username): Path<String>,
) -> Response {
    match app.users.permissions(&username) {
        Some(p) => Json(json!({"username": username, "permissions": p})).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "unknown user"),
    }
}
