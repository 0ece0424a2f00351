//! Session routes: store, check, get and invalidate.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use permission_storage_manager::{NewSession, generate_session_id};
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{ApiError, ApiJson};
use super::state::AppState;
use crate::session::session_json;

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
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = match req.session_id {
        Some(id) => id,
        None => generate_session_id()?,
    };
    let mut new = NewSession::new(id, req.user_id).permissions(req.permissions);
    new = match (req.no_expiry, req.ttl_seconds) {
        (true, None) => new.no_expiry(),
        (true, Some(_)) => {
            return Err(ApiError::bad_request(
                "ttl_seconds and no_expiry exclude each other",
            ));
        }
        (false, ttl) => new.ttl_or_default(ttl.map(Duration::from_secs)),
    };
    if let Some(m) = req.metadata {
        new = new.metadata(m);
    }
    let session = state.manager.store_session(new).await?;
    Ok((StatusCode::CREATED, Json(session_json(&session))))
}

/// `POST /v1/sessions/check`: `allowed` is true when every permission is.
pub async fn check(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<CheckRequest>,
) -> Result<Json<Value>, ApiError> {
    ApiError::check_batch(req.permissions.len(), state.limits.max_batch, "permissions")?;
    if req.permissions.is_empty() {
        return Err(ApiError::bad_request("permissions must not be empty"));
    }
    let results = state
        .manager
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
) -> Result<Json<Value>, ApiError> {
    match state.manager.get_permissions(&session_id).await? {
        Some(s) => Ok(Json(session_json(&s))),
        None => Err(no_session()),
    }
}

/// `DELETE /v1/sessions/{session_id}`: 404 when there was none.
pub async fn invalidate(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if state.manager.invalidate_session(&session_id).await? {
        Ok(Json(json!({"invalidated": true})))
    } else {
        Err(no_session())
    }
}

fn no_session() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such session")
}
