//! `GET /v1/relationships/changes?after=N&limit=M&wait_ms=W`: the relationship changes after a
//! revision, long-polling up to `wait_ms` (at most 30 s, and within the request deadline) when
//! there are none yet — a watch for cache invalidation, one request per batch.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use psm_rebac::{MAX_CHANGES, Revision};
use serde_json::{Value, json};

use crate::error::Error;
use crate::openapi::{ChangesAnswer, EngineErrors, Gone, InvalidInput, ServerErrors};
use crate::render::change_json;
use crate::state::AppState;

/// The longest `wait_ms` accepted.
pub const MAX_WAIT_MS: u64 = 30_000;

/// The parsed query.
#[derive(Debug, PartialEq, Eq)]
struct ChangesQuery {
    after: Revision,
    limit: usize,
    wait: Duration,
}

/// Parses `after` (required), `limit` (1..=`MAX_CHANGES`, default `default_limit`) and
/// `wait_ms` (0..=`MAX_WAIT_MS`, default 0); any other or repeated parameter is an error.
fn parse_query(query: Option<&str>, default_limit: usize) -> Result<ChangesQuery, Error> {
    let (mut after, mut limit, mut wait) = (None, None, None);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match key {
            "after" => &mut after,
            "limit" => &mut limit,
            "wait_ms" => &mut wait,
            _ => {
                return Err(Error::invalid_field(
                    &key.chars().take(64).collect::<String>(),
                    "is not a parameter of this route (after, limit, wait_ms)",
                ));
            }
        };
        if slot.is_some() {
            return Err(Error::invalid_field(key, "must be given at most once"));
        }
        let number = (!value.is_empty() && value.len() <= 20)
            .then(|| value.parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| Error::invalid_field(key, "must be a non-negative integer"))?;
        *slot = Some(number);
    }
    let after = after.ok_or_else(|| {
        Error::invalid_field(
            "after",
            "is required: the revision to list changes after (0 for the start of the log)",
        )
    })?;
    let limit = match limit {
        None => default_limit.clamp(1, MAX_CHANGES),
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_CHANGES).contains(n))
            .ok_or_else(|| {
                Error::invalid_field("limit", &format!("must be between 1 and {MAX_CHANGES}"))
            })?,
    };
    let wait_ms = wait.unwrap_or(0);
    if wait_ms > MAX_WAIT_MS {
        return Err(Error::invalid_field(
            "wait_ms",
            &format!("must be at most {MAX_WAIT_MS}"),
        ));
    }
    Ok(ChangesQuery {
        after,
        limit,
        wait: Duration::from_millis(wait_ms),
    })
}

/// `GET /v1/relationships/changes`: `{"changes": [{revision, op, relationship}], "revision"}`,
/// where `revision` is the one to pass as `after` next (the last change's, or `after` when
/// there were none). A write is never split, so one write alone may exceed `limit`.
#[utoipa::path(
    get,
    path = "/v1/relationships/changes",
    summary = "Relationship changes after a revision (a watch): long-polls up to `wait_ms` when \
               there are none yet. A write is never split, so one write alone may exceed `limit`. \
               409 when `after` was never issued, 410 when the change log no longer holds every \
               change after it (resync from a read).",
    params(
        ("after" = u64, Query, minimum = 0, description = "the revision to list changes after: 0, one a write returned, or the `revision` of the previous answer"),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 10000, description = "most changes (default: the server's batch limit)"),
        ("wait_ms" = Option<u64>, Query, minimum = 0, maximum = 30000, description = "how long to wait for a change when there is none yet (within the request deadline; default 0)")
    ),
    responses((status = 200, body = ChangesAnswer), InvalidInput, EngineErrors, Gone, ServerErrors)
)]
pub async fn changes(State(state): State<Arc<AppState>>, uri: Uri) -> Result<Json<Value>, Error> {
    let store = state.rebac()?.tuples().clone();
    let q = parse_query(uri.query(), state.config.max_batch)?;
    let wait = q.wait.min(state.config.max_wait());
    let mut changes = if wait.is_zero() {
        store.changes_since(q.after, q.limit).await?
    } else {
        store.watch_next(q.after, wait).await?
    };
    if changes.len() > q.limit {
        changes = store.changes_since(q.after, q.limit).await?;
    }
    let next = changes.last().map_or(q.after, |c| c.revision);
    let list: Vec<Value> = changes.iter().map(change_json).collect();
    Ok(Json(json!({"changes": list, "revision": next})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_checked_parameter_by_parameter() {
        let q = parse_query(Some("after=3&limit=10&wait_ms=250"), 1000).unwrap();
        assert_eq!(
            q,
            ChangesQuery {
                after: 3,
                limit: 10,
                wait: Duration::from_millis(250)
            }
        );
        let q = parse_query(Some("after=0"), 50).unwrap();
        assert_eq!((q.limit, q.wait), (50, Duration::ZERO));
        for (query, field) in [
            ("", "after: is required"),
            ("after=x", "after: must be"),
            ("after=1&after=2", "after: must be given at most once"),
            ("after=1&limit=0", "limit: must be between"),
            ("after=1&limit=10001", "limit: must be between"),
            ("after=1&wait_ms=30001", "wait_ms: must be at most"),
            ("after=1&since=2", "since: is not a parameter"),
        ] {
            let e = parse_query(Some(query), 1000).unwrap_err();
            assert!(e.message().starts_with(field), "{query}: {}", e.message());
        }
    }
}
