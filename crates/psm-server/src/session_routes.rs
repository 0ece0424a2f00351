//! Session routes: store, check, get, update, extend, invalidate, list by user, cleanup and
//! stats.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use psm_core::{NewSession, generate_session_id};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiJson, Error};
use crate::render::session_json;
use crate::state::AppState;

/// `POST /v1/sessions` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreRequest {
    /// Generated when absent.
    session_id: Option<String>,
    user_id: String,
    #[serde(default)]
    permissions: Vec<String>,
    /// The manager's default (one hour) when absent.
    ttl_seconds: Option<u64>,
    #[serde(default)]
    no_expiry: bool,
    metadata: Option<Value>,
}

/// `POST /v1/sessions/check` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    session_id: String,
    permissions: Vec<String>,
}

/// `POST /v1/sessions`: 201 with the stored session.
pub async fn store(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<StoreRequest>,
) -> Result<(StatusCode, Json<Value>), Error> {
    let id = match req.session_id {
        Some(id) => id,
        None => generate_session_id()?,
    };
    let mut new = NewSession::new(id, req.user_id).permissions(req.permissions);
    new = match (req.no_expiry, req.ttl_seconds) {
        (true, None) => new.no_expiry(),
        (true, Some(_)) => {
            return Err(Error::input("ttl_seconds and no_expiry exclude each other"));
        }
        (false, ttl) => new.ttl_or_default(ttl.map(Duration::from_secs)),
    };
    if let Some(m) = req.metadata {
        new = new.metadata(m);
    }
    let session = state.sessions.store_session(new).await?;
    Ok((StatusCode::CREATED, Json(session_json(&session))))
}

/// `POST /v1/sessions/check`: `allowed` is true when every permission is.
pub async fn check(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<CheckRequest>,
) -> Result<Json<Value>, Error> {
    Error::check_batch(req.permissions.len(), state.config.max_batch, "permissions")?;
    if req.permissions.is_empty() {
        return Err(Error::input("permissions must not be empty"));
    }
    let results = state
        .sessions
        .check_permissions(&req.session_id, &req.permissions)
        .await?;
    let allowed = req
        .permissions
        .iter()
        .all(|p| results.get(p).copied().unwrap_or(false));
    Ok(Json(json!({"allowed": allowed, "results": results})))
}

/// `GET /v1/sessions/{session_id}`: 404 when there is no live session.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
) -> Result<Json<Value>, Error> {
    match state.sessions.get_session(&session_id).await? {
        Some(s) => Ok(Json(session_json(&s))),
        None => Err(no_session()),
    }
}

/// `DELETE /v1/sessions/{session_id}`: 404 when there was none.
pub async fn invalidate(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
) -> Result<Json<Value>, Error> {
    if state.sessions.invalidate_session(&session_id).await? {
        Ok(Json(json!({"invalidated": true})))
    } else {
        Err(no_session())
    }
}

/// `PATCH /v1/sessions/{session_id}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    permissions: Vec<String>,
    /// Keeps the remaining TTL when absent.
    ttl_seconds: Option<u64>,
}

/// `POST /v1/sessions/{session_id}/extend` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendRequest {
    ttl_seconds: u64,
}

/// `PATCH /v1/sessions/{session_id}`: replaces the permissions (and the TTL when given); 404
/// when there is no live session. Idempotent.
pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
    ApiJson(req): ApiJson<UpdateRequest>,
) -> Result<Json<Value>, Error> {
    Error::check_batch(req.permissions.len(), state.config.max_batch, "permissions")?;
    let ttl = req.ttl_seconds.map(Duration::from_secs);
    if state
        .sessions
        .update_permissions(&session_id, &req.permissions, ttl)
        .await?
    {
        get(State(state), Path(session_id)).await
    } else {
        Err(no_session())
    }
}

/// `POST /v1/sessions/{session_id}/extend`: the session expires `ttl_seconds` from now; 404
/// when there is no live session.
pub async fn extend(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
    ApiJson(req): ApiJson<ExtendRequest>,
) -> Result<Json<Value>, Error> {
    let ttl = Duration::from_secs(req.ttl_seconds);
    if state.sessions.extend_session_ttl(&session_id, ttl).await? {
        get(State(state), Path(session_id)).await
    } else {
        Err(no_session())
    }
}

/// `GET /v1/users/{user_id}/sessions`: the user's live session ids, sorted.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, Error> {
    let ids = state.sessions.list_sessions(&user_id).await?;
    Ok(Json(json!({"user_id": user_id, "sessions": ids})))
}

/// `POST /v1/sessions-cleanup`: removes expired sessions now; answers how many.
pub async fn cleanup(State(state): State<Arc<AppState>>) -> Result<Json<Value>, Error> {
    let removed = state.sessions.cleanup_expired_sessions().await?;
    Ok(Json(json!({"removed": removed})))
}

/// `GET /v1/sessions-stats`: the session store's counters and sizes.
pub async fn stats(State(state): State<Arc<AppState>>) -> Result<Json<Value>, Error> {
    let stats = state.sessions.stats().await?;
    Ok(Json(serde_json::to_value(stats).unwrap_or(Value::Null)))
}

fn no_session() -> Error {
    Error::new(psm_core::ErrorKind::NotFound, "no such session")
}
