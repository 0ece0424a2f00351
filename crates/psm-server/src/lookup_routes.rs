//! Lookup routes: `POST /v1/lookup/resources` and `POST /v1/lookup/subjects`, paginated
//! (`limit`, `cursor`; every response carries `cursor`, `null` on the last page) and never larger
//! than [`MAX_LOOKUP_LIMIT`] results; resource lookups also report conditional resources.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use psm_rebac::{FoundResource, ObjectRef, Permissionship, SubjectRef};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::{ApiJson, Error};
use crate::openapi::{
    BodyErrors, CaveatContextValue, ConsistencyValue, CursorValue, EngineErrors, LookupLimitValue,
    LookupResourcesAnswer, LookupSubjectsAnswer, NameText, ObjectRefText, ServerErrors,
    SubjectRefText,
};
use crate::read_options;
use crate::rebac_routes::{caveat_context, field};
use crate::state::AppState;

/// The most results one lookup response holds; also the default `limit`, so a request without
/// one gets today's whole answer up to this many, and a `cursor` to the rest.
pub const MAX_LOOKUP_LIMIT: usize = 10_000;

/// The longest `cursor` accepted, in bytes (a cursor is an object id or a subject).
const MAX_CURSOR_BYTES: usize = 4096;

/// `POST /v1/lookup/resources` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupResourcesRequest {
    #[schema(value_type = NameText)]
    resource_type: String,
    #[schema(value_type = NameText)]
    permission: String,
    #[schema(value_type = SubjectRefText)]
    subject: String,
    /// Caveat parameters.
    #[serde(default)]
    #[schema(value_type = CaveatContextValue)]
    context: Option<Value>,
    /// How fresh the answer must be.
    #[serde(default)]
    #[schema(value_type = ConsistencyValue)]
    consistency: Option<Value>,
    /// Most results in this page (1..=`MAX_LOOKUP_LIMIT`).
    #[serde(default)]
    #[schema(value_type = LookupLimitValue)]
    limit: Option<Value>,
    /// The `cursor` of the previous page.
    #[serde(default)]
    #[schema(value_type = CursorValue)]
    cursor: Option<Value>,
}

/// `POST /v1/lookup/subjects` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupSubjectsRequest {
    #[schema(value_type = ObjectRefText)]
    resource: String,
    #[schema(value_type = NameText)]
    permission: String,
    #[schema(value_type = NameText)]
    subject_type: String,
    #[schema(value_type = Option<NameText>)]
    subject_relation: Option<String>,
    /// Caveat parameters.
    #[serde(default)]
    #[schema(value_type = CaveatContextValue)]
    context: Option<Value>,
    /// How fresh the answer must be.
    #[serde(default)]
    #[schema(value_type = ConsistencyValue)]
    consistency: Option<Value>,
    /// Most results in this page (1..=`MAX_LOOKUP_LIMIT`).
    #[serde(default)]
    #[schema(value_type = LookupLimitValue)]
    limit: Option<Value>,
    /// The `cursor` of the previous page.
    #[serde(default)]
    #[schema(value_type = CursorValue)]
    cursor: Option<Value>,
}

/// Parses `limit`: absent or `null` is [`MAX_LOOKUP_LIMIT`], otherwise an integer in
/// 1..=[`MAX_LOOKUP_LIMIT`].
fn limit(value: Option<&Value>) -> Result<usize, Error> {
    match value {
        None | Some(Value::Null) => Ok(MAX_LOOKUP_LIMIT),
        Some(Value::Number(n)) => crate::whole::whole_u64(n)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1..=MAX_LOOKUP_LIMIT).contains(n))
            .ok_or_else(limit_error),
        Some(_) => Err(limit_error()),
    }
}

fn limit_error() -> Error {
    Error::invalid_field(
        "limit",
        &format!("must be an integer between 1 and {MAX_LOOKUP_LIMIT}"),
    )
}

/// Parses `cursor`: absent or `null` is the first page, otherwise the non-empty string a
/// previous page answered.
pub(crate) fn cursor(value: Option<Value>) -> Result<Option<String>, Error> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_CURSOR_BYTES => Ok(Some(s)),
        Some(_) => Err(Error::invalid_field(
            "cursor",
            "must be the non-empty `cursor` string of a previous page (or null for the first)",
        )),
    }
}

/// The page of `sorted` (sorted by `key`) after `cursor`, at most `limit` long, and the cursor
/// of the next page (`None` on the last): the key of the page's last item.
pub(crate) fn page_after<T>(
    sorted: Vec<T>,
    key: impl Fn(&T) -> &str,
    cursor: Option<&str>,
    limit: usize,
) -> (Vec<T>, Option<String>) {
    let start = cursor.map_or(0, |c| sorted.partition_point(|t| key(t) <= c));
    let total = sorted.len();
    let page: Vec<T> = sorted.into_iter().skip(start).take(limit).collect();
    let next = (start + page.len() < total)
        .then(|| page.last().map(|t| key(t).to_owned()))
        .flatten();
    (page, next)
}

/// The page of `found` (sorted by id) after `cursor`.
fn resource_page(
    found: Vec<FoundResource>,
    cursor: Option<&str>,
    limit: usize,
) -> (Vec<FoundResource>, Option<String>) {
    page_after(found, |f| f.id.as_str(), cursor, limit)
}

/// One resource result: `{"id", "permissionship"}` plus `missing_context` when conditional.
fn resource_json(f: &FoundResource) -> Value {
    match &f.permissionship {
        Permissionship::Conditional { missing } => json!({
            "id": f.id, "permissionship": "conditional", "missing_context": missing,
        }),
        Permissionship::HasPermission => json!({"id": f.id, "permissionship": "has_permission"}),
        Permissionship::NoPermission => json!({"id": f.id, "permissionship": "no_permission"}),
    }
}

/// `POST /v1/lookup/resources`: `resource_ids` lists the resources the subject has the
/// permission on for certain; `results` lists those and the conditional ones (with the caveat
/// parameters that were missing), sorted by id; `cursor` leads to the next page.
#[utoipa::path(
    post,
    path = "/v1/lookup/resources",
    summary = "Resources of a type the subject has permission on, a page at a time",
    request_body = LookupResourcesRequest,
    responses((status = 200, body = LookupResourcesAnswer), BodyErrors, EngineErrors, ServerErrors)
)]
pub async fn lookup_resources(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<LookupResourcesRequest>,
) -> Result<Json<Value>, Error> {
    let engine = state.engine()?;
    let subject: SubjectRef = field(&req.subject, "subject")?;
    let limit = limit(req.limit.as_ref())?;
    let cursor = cursor(req.cursor)?;
    let consistency = read_options::consistency(req.consistency.as_ref())?;
    let context = caveat_context(req.context)?;
    let mut found = read_options::scope(&engine, context, consistency)?
        .lookup_resources_permissionship(&req.resource_type, &req.permission, &subject)
        .await?;
    found.sort_by(|a, b| a.id.cmp(&b.id));
    let (page, next) = resource_page(found, cursor.as_deref(), limit);
    let ids: Vec<&str> = page
        .iter()
        .filter(|f| f.permissionship == Permissionship::HasPermission)
        .map(|f| f.id.as_str())
        .collect();
    let results: Vec<Value> = page.iter().map(resource_json).collect();
    Ok(Json(
        json!({"resource_ids": ids, "results": results, "cursor": next}),
    ))
}

/// `POST /v1/lookup/subjects`: subjects sorted as they print; `cursor` leads to the next page.
#[utoipa::path(
    post,
    path = "/v1/lookup/subjects",
    summary = "Subjects of a type with permission on resource, a page at a time; a wildcard \
               lists its exclusions",
    request_body = LookupSubjectsRequest,
    responses((status = 200, body = LookupSubjectsAnswer), BodyErrors, EngineErrors, ServerErrors)
)]
pub async fn lookup_subjects(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<LookupSubjectsRequest>,
) -> Result<Json<Value>, Error> {
    let engine = state.engine()?;
    let resource: ObjectRef = field(&req.resource, "resource")?;
    let limit = limit(req.limit.as_ref())?;
    let cursor = cursor(req.cursor)?;
    let consistency = read_options::consistency(req.consistency.as_ref())?;
    let context = caveat_context(req.context)?;
    let (found, next) = read_options::scope(&engine, context, consistency)?
        .lookup_subjects_page(
            &resource,
            &req.permission,
            &req.subject_type,
            req.subject_relation.as_deref(),
            cursor.as_deref(),
            limit,
        )
        .await?;
    let subjects: Vec<Value> = found
        .iter()
        .map(|f| {
            json!({
                "subject": f.subject.to_string(),
                "excluded": f.excluded.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({"subjects": subjects, "cursor": next})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(id: &str) -> FoundResource {
        FoundResource {
            id: id.to_owned(),
            permissionship: Permissionship::HasPermission,
        }
    }

    #[test]
    fn limit_and_cursor_are_bounded_and_bad_ones_name_the_field() {
        assert_eq!(limit(None).ok(), Some(MAX_LOOKUP_LIMIT));
        assert_eq!(limit(Some(&json!(7))).ok(), Some(7));
        for bad in [json!(0), json!(-1), json!(10_001), json!(1.5), json!("5")] {
            let m = limit(Some(&bad)).unwrap_err().message().to_owned();
            assert!(m.starts_with("limit: must be"), "{bad}: {m}");
        }
        assert_eq!(cursor(Some(json!("b"))).unwrap().as_deref(), Some("b"));
        assert_eq!(cursor(Some(Value::Null)).unwrap(), None);
        for bad in [json!(""), json!(3), json!("x".repeat(MAX_CURSOR_BYTES + 1))] {
            let m = cursor(Some(bad)).unwrap_err().message().to_owned();
            assert!(m.starts_with("cursor: must be"), "{m}");
        }
    }

    #[test]
    fn resource_pages_cover_every_result_once_and_the_last_has_no_cursor() {
        let all: Vec<FoundResource> = ["a", "b", "c", "d", "e"].map(found).into();
        let mut seen = Vec::new();
        let mut cursor = None;
        for _ in 0..10 {
            let (page, next) = resource_page(all.clone(), cursor.as_deref(), 2);
            seen.extend(page.into_iter().map(|f| f.id));
            cursor = next;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
        let (page, next) = resource_page(all, None, 5);
        assert_eq!((page.len(), next), (5, None));
    }
}
