//! Session routes: store, check, get, update, extend, invalidate, list by user, cleanup and
//! stats.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use psm_core::{NewSession, generate_session_id};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::{ApiJson, Error};
use crate::openapi::{
    AnyObject, BodyErrors, Cleanup, InvalidInput, Invalidated, NotFound, PermissionText,
    QuotaExceeded, ServerErrors, Session, SessionCheckAnswer, SessionIdText, UserIdText,
    UserSessions,
};
use crate::render::session_json;
use crate::state::AppState;

/// `POST /v1/sessions` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreRequest {
    /// Generated when absent.
    #[schema(value_type = Option<SessionIdText>)]
    session_id: Option<String>,
    #[schema(value_type = UserIdText)]
    user_id: String,
    #[serde(default)]
    #[schema(value_type = Vec<PermissionText>)]
    permissions: Vec<String>,
    /// The manager's default (one hour) when absent; at most 100 years; not with `no_expiry`.
    #[schema(minimum = 1, maximum = 3_155_760_000_u64)]
    #[serde(default, deserialize_with = "crate::whole::opt_u64_field")]
    ttl_seconds: Option<u64>,
    /// The session never expires.
    #[serde(default)]
    no_expiry: bool,
    /// A JSON object of at most 64 KiB.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

/// `POST /v1/sessions/check` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SessionCheckRequest)]
pub struct CheckRequest {
    #[schema(value_type = SessionIdText)]
    session_id: String,
    #[schema(value_type = Vec<PermissionText>, min_items = 1, max_items = 1000)]
    permissions: Vec<String>,
}

/// `POST /v1/sessions`: 201 with the stored session.
#[utoipa::path(
    post,
    path = "/v1/sessions",
    summary = "Store (or replace) a session",
    request_body = StoreRequest,
    responses((status = 201, body = Session), BodyErrors, QuotaExceeded, ServerErrors)
)]
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
#[utoipa::path(
    post,
    path = "/v1/sessions/check",
    summary = "Check a session's permissions (a session that does not exist has none)",
    request_body = CheckRequest,
    responses((status = 200, body = SessionCheckAnswer), BodyErrors, ServerErrors)
)]
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
#[utoipa::path(
    get,
    path = "/v1/sessions/{session_id}",
    summary = "A live session (404 when none)",
    params(("session_id" = SessionIdText, Path)),
    responses((status = 200, body = Session), InvalidInput, NotFound, ServerErrors)
)]
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
#[utoipa::path(
    delete,
    path = "/v1/sessions/{session_id}",
    summary = "Invalidate a session (404 when none)",
    params(("session_id" = SessionIdText, Path)),
    responses((status = 200, body = Invalidated), InvalidInput, NotFound, ServerErrors)
)]
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    #[schema(value_type = Vec<PermissionText>, max_items = 1000)]
    permissions: Vec<String>,
    /// Keeps the remaining TTL when absent; at most 100 years.
    #[schema(minimum = 1, maximum = 3_155_760_000_u64)]
    #[serde(default, deserialize_with = "crate::whole::opt_u64_field")]
    ttl_seconds: Option<u64>,
}

/// `POST /v1/sessions/{session_id}/extend` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendRequest {
    /// At most 100 years.
    #[schema(minimum = 1, maximum = 3_155_760_000_u64)]
    #[serde(deserialize_with = "crate::whole::u64_field")]
    ttl_seconds: u64,
}

/// `PATCH /v1/sessions/{session_id}`: replaces the permissions (and the TTL when given); 404
/// when there is no live session. Idempotent.
#[utoipa::path(
    patch,
    path = "/v1/sessions/{session_id}",
    summary = "Replace a live session's permissions; without ttl_seconds the remaining TTL is \
               kept (404 when none)",
    params(("session_id" = SessionIdText, Path)),
    request_body = UpdateRequest,
    responses((status = 200, body = Session), BodyErrors, NotFound, QuotaExceeded, ServerErrors)
)]
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
#[utoipa::path(
    post,
    path = "/v1/sessions/{session_id}/extend",
    summary = "Make a live session expire ttl_seconds from now (404 when none)",
    params(("session_id" = SessionIdText, Path)),
    request_body = ExtendRequest,
    responses((status = 200, body = Session), BodyErrors, NotFound, ServerErrors)
)]
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

/// Sessions one page of `GET /v1/users/{user_id}/sessions` lists when no `limit` is given.
pub const DEFAULT_LIST_LIMIT: usize = 100;
/// The largest `limit` of `GET /v1/users/{user_id}/sessions`.
pub const MAX_LIST_LIMIT: usize = 1000;

/// The parsed query of the list route.
#[derive(Debug, PartialEq, Eq)]
struct ListQuery {
    limit: usize,
    cursor: Option<String>,
}

/// Parses `limit` (1..=[`MAX_LIST_LIMIT`], default [`DEFAULT_LIST_LIMIT`]) and `cursor` (the
/// `cursor` a previous page answered: a session id, which is URL-safe); any other or repeated
/// parameter is an error naming it.
fn parse_list_query(query: Option<&str>) -> Result<ListQuery, Error> {
    let (mut limit, mut cursor): (Option<&str>, Option<&str>) = (None, None);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match key {
            "limit" => &mut limit,
            "cursor" => &mut cursor,
            _ => {
                return Err(Error::invalid_field(
                    &key.chars().take(64).collect::<String>(),
                    "is not a parameter of this route (limit, cursor)",
                ));
            }
        };
        if slot.is_some() {
            return Err(Error::invalid_field(key, "must be given at most once"));
        }
        *slot = Some(value);
    }
    let limit = match limit {
        None => DEFAULT_LIST_LIMIT,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
            .ok_or_else(|| {
                Error::invalid_field("limit", &format!("must be between 1 and {MAX_LIST_LIMIT}"))
            })?,
    };
    let cursor = match cursor {
        None => None,
        Some(c) => {
            psm_core::validate::session_id(c).map_err(|_| {
                Error::invalid_field("cursor", "must be the cursor a previous page answered")
            })?;
            Some(c.to_owned())
        }
    };
    Ok(ListQuery { limit, cursor })
}

/// `GET /v1/users/{user_id}/sessions?limit=N&cursor=C`: the user's live session ids, sorted,
/// at most `limit` (default 100, at most 1000) after `cursor`; `cursor` in the answer is the
/// next page's (null on the last page).
#[utoipa::path(
    get,
    path = "/v1/users/{user_id}/sessions",
    summary = "The user's live session ids, sorted, one page after `cursor` (`cursor` in the \
               answer is null on the last page)",
    params(
        ("user_id" = UserIdText, Path),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 1000, description = "most ids in this page (default 100)"),
        ("cursor" = Option<SessionIdText>, Query, description = "the `cursor` of the previous page")
    ),
    responses((status = 200, body = UserSessions), InvalidInput, ServerErrors)
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Path(user_id): Path<String>,
    uri: Uri,
) -> Result<Json<Value>, Error> {
    let query = parse_list_query(uri.query())?;
    let mut ids = state.sessions.list_sessions(&user_id).await?;
    ids.sort_unstable();
    let start = match &query.cursor {
        Some(c) => ids.partition_point(|id| id.as_str() <= c.as_str()),
        None => 0,
    };
    let page: Vec<String> = ids.into_iter().skip(start).take(query.limit + 1).collect();
    let (page, cursor) = if page.len() > query.limit {
        let mut page = page;
        page.truncate(query.limit);
        let next = page.last().cloned();
        (page, next)
    } else {
        (page, None)
    };
    Ok(Json(
        json!({"user_id": user_id, "sessions": page, "cursor": cursor}),
    ))
}

/// `POST /v1/sessions-cleanup`: removes expired sessions now; answers how many.
#[utoipa::path(
    post,
    path = "/v1/sessions-cleanup",
    summary = "Remove expired sessions now",
    responses((status = 200, body = Cleanup), ServerErrors)
)]
pub async fn cleanup(State(state): State<Arc<AppState>>) -> Result<Json<Value>, Error> {
    let removed = state.sessions.cleanup_expired_sessions().await?;
    Ok(Json(json!({"removed": removed})))
}

/// `GET /v1/sessions-stats`: the session store's counters and sizes.
#[utoipa::path(
    get,
    path = "/v1/sessions-stats",
    summary = "The session store's counters and sizes",
    responses((status = 200, body = AnyObject), ServerErrors)
)]
pub async fn stats(State(state): State<Arc<AppState>>) -> Result<Json<Value>, Error> {
    let stats = state.sessions.stats().await?;
    Ok(Json(serde_json::to_value(stats).unwrap_or(Value::Null)))
}

fn no_session() -> Error {
    Error::new(psm_core::ErrorKind::NotFound, "no such session")
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_LIST_LIMIT, ListQuery, MAX_LIST_LIMIT, parse_list_query};

    #[test]
    fn the_list_query_is_bounded_and_names_its_faults() {
        assert_eq!(
            parse_list_query(None).ok(),
            Some(ListQuery {
                limit: DEFAULT_LIST_LIMIT,
                cursor: None
            })
        );
        assert_eq!(
            parse_list_query(Some("limit=3&cursor=s-1")).ok(),
            Some(ListQuery {
                limit: 3,
                cursor: Some("s-1".into())
            })
        );
        let max = MAX_LIST_LIMIT.to_string();
        assert!(parse_list_query(Some(&format!("limit={max}"))).is_ok());
        for (q, field) in [
            ("limit=0", "limit"),
            (&*format!("limit={}", MAX_LIST_LIMIT + 1), "limit"),
            ("limit=x", "limit"),
            ("limit=1&limit=2", "limit"),
            ("cursor=a%20b", "cursor"),
            ("cursor=", "cursor"),
            ("page=2", "page"),
        ] {
            let e = parse_list_query(Some(q)).err();
            assert_eq!(e.as_ref().and_then(|e| e.field()), Some(field), "{q}");
        }
    }
}
