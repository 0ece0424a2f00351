//! Relationship routes: check, bulk check, relationship write / delete / read, schema.
//! Reads take `consistency` and (checks) caveat `context`; see [`super::read_options`]. Lookups
//! are in [`super::lookup_routes`].

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use psm_rebac::{
    CheckItem, ObjectRef, Relationship, RelationshipFilter, RelationshipUpdate, SubjectFilter,
    SubjectRef,
};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::{ApiJson, Error};
use crate::openapi::{
    BodyErrors, BulkCheckAnswer, CaveatContextValue, CheckAnswer, ConsistencyValue, CursorValue,
    DeleteAnswer, EngineErrors, NameText, ObjectIdText, ObjectRefText, ReadAnswer,
    RelationshipText, SchemaAnswer, SchemaWritten, ServerErrors, SubjectRefText, WriteAnswer,
};
use crate::read_options::{self, RequestContext};
use crate::render::schema_error;
use crate::state::AppState;

/// `POST /v1/check` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    #[schema(value_type = ObjectRefText)]
    resource: String,
    #[schema(value_type = NameText)]
    permission: String,
    #[schema(value_type = SubjectRefText)]
    subject: String,
    /// Caveat parameters (an object); an array is the older spelling of contextual relationships
    /// (not together with a non-empty `contextual_relationships`).
    #[serde(default)]
    #[schema(schema_with = crate::openapi::check_context)]
    context: Option<Value>,
    /// Relationships that hold for this check only.
    #[serde(default)]
    #[schema(value_type = Vec<RelationshipText>, max_items = 1000)]
    contextual_relationships: Vec<String>,
    /// How fresh the answer must be.
    #[serde(default)]
    #[schema(value_type = ConsistencyValue)]
    consistency: Option<Value>,
}

/// `POST /v1/check/bulk` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkCheckRequest {
    #[schema(max_items = 1000)]
    items: Vec<BulkItem>,
    /// Caveat parameters for every item.
    #[serde(default)]
    #[schema(value_type = CaveatContextValue)]
    context: Option<Value>,
    /// How fresh the answers must be.
    #[serde(default)]
    #[schema(value_type = ConsistencyValue)]
    consistency: Option<Value>,
}

/// One item of a bulk check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkItem {
    #[schema(value_type = ObjectRefText)]
    resource: String,
    #[schema(value_type = NameText)]
    permission: String,
    #[schema(value_type = SubjectRefText)]
    subject: String,
}

/// `POST /v1/relationships/write` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteRequest {
    #[schema(min_items = 1, max_items = 1000)]
    updates: Vec<Update>,
}

/// One update: `touch` (create or keep), `create` (must not exist) or `delete`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Update {
    operation: Operation,
    #[schema(value_type = RelationshipText)]
    relationship: String,
}

/// The operation of an [`Update`].
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Create or keep.
    Touch,
    /// Create; the write fails if it exists.
    Create,
    /// Delete if present.
    Delete,
}

/// `POST /v1/relationships/delete` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    #[schema(value_type = Vec<RelationshipText>, min_items = 1, max_items = 1000)]
    relationships: Vec<String>,
}

/// `POST /v1/relationships/read` body: every field narrows the filter (`resource_id` needs
/// `resource_type`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    #[schema(value_type = Option<NameText>)]
    resource_type: Option<String>,
    #[schema(value_type = Option<ObjectIdText>)]
    resource_id: Option<String>,
    #[schema(value_type = Option<NameText>)]
    relation: Option<String>,
    #[schema(value_type = Option<SubjectRefText>)]
    subject: Option<String>,
    /// Most relationships in this page (default and maximum: the server's batch limit).
    #[schema(minimum = 0, maximum = 1000)]
    #[serde(default, deserialize_with = "crate::whole::opt_u64_field")]
    limit: Option<u64>,
    /// The `cursor` of the previous page; absent or null for the first.
    #[serde(default)]
    #[schema(value_type = CursorValue)]
    cursor: Option<Value>,
    /// How fresh the answer must be.
    #[serde(default)]
    #[schema(value_type = ConsistencyValue)]
    consistency: Option<Value>,
}

/// Most relationships one filtered read may match: pages are cut from the sorted matches, so a
/// filter matching more must be narrowed.
pub const MAX_READ_MATCHES: usize = 100_000;

/// `PUT /v1/schema` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemaRequest {
    /// The schema, in SpiceDB's schema language.
    schema: String,
}

pub(super) fn field<T: std::str::FromStr<Err = psm_rebac::Error>>(
    text: &str,
    name: &str,
) -> Result<T, Error> {
    text.parse::<T>()
        .map_err(|e| Error::input(format!("{name}: {e}")))
}

/// A `context` that may only hold caveat parameters (an object).
pub(super) fn caveat_context(context: Option<Value>) -> Result<RequestContext, Error> {
    match context {
        None | Some(Value::Null | Value::Object(_)) => {
            read_options::request_context(context, &[], 0)
        }
        Some(_) => Err(Error::invalid_field(
            "context",
            "must be a JSON object of caveat parameters",
        )),
    }
}

/// `POST /v1/check`.
#[utoipa::path(
    post,
    path = "/v1/check",
    summary = "Does subject have permission on resource? `conditional` when caveat parameters the \
               request did not give decide it",
    request_body = CheckRequest,
    responses((status = 200, body = CheckAnswer), BodyErrors, EngineErrors, ServerErrors)
)]
pub async fn check(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<CheckRequest>,
) -> Result<Json<Value>, Error> {
    let engine = state.engine()?;
    let resource: ObjectRef = field(&req.resource, "resource")?;
    let subject: SubjectRef = field(&req.subject, "subject")?;
    let consistency = read_options::consistency(req.consistency.as_ref())?;
    let context = read_options::request_context(
        req.context,
        &req.contextual_relationships,
        state.config.max_batch,
    )?;
    let scope = read_options::scope(&engine, context, consistency)?;
    let answer = scope
        .check_permissionship(&resource, &req.permission, &subject)
        .await?;
    Ok(Json(read_options::permissionship(&answer)))
}

/// `POST /v1/check/bulk`: answers in request order.
#[utoipa::path(
    post,
    path = "/v1/check/bulk",
    summary = "Many checks; answers in request order (a conditional answer is false)",
    request_body = BulkCheckRequest,
    responses((status = 200, body = BulkCheckAnswer), BodyErrors, EngineErrors, ServerErrors)
)]
pub async fn check_bulk(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<BulkCheckRequest>,
) -> Result<Json<Value>, Error> {
    let engine = state.engine()?;
    Error::check_batch(req.items.len(), state.config.max_batch, "checks")?;
    let items = req
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            Ok(CheckItem {
                resource: field(&it.resource, &format!("items[{i}].resource"))?,
                permission: it.permission.clone(),
                subject: field(&it.subject, &format!("items[{i}].subject"))?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let consistency = read_options::consistency(req.consistency.as_ref())?;
    let context = caveat_context(req.context)?;
    let results = read_options::scope(&engine, context, consistency)?
        .check_bulk(&items)
        .await?;
    Ok(Json(json!({"results": results})))
}

/// `POST /v1/relationships/write`: all updates or none.
#[utoipa::path(
    post,
    path = "/v1/relationships/write",
    summary = "Apply updates atomically (409 when a create finds one existing)",
    request_body = WriteRequest,
    responses((status = 200, body = WriteAnswer), BodyErrors, EngineErrors, ServerErrors)
)]
pub async fn write(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<WriteRequest>,
) -> Result<Json<Value>, Error> {
    let engine = state.engine()?;
    Error::check_batch(req.updates.len(), state.config.max_batch, "updates")?;
    if req.updates.is_empty() {
        return Err(Error::invalid_field("updates", "must not be empty"));
    }
    let updates = req
        .updates
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let name = format!("updates[{i}].relationship");
            let r: Relationship = field(&u.relationship, &name)?;
            if !matches!(u.operation, Operation::Delete) {
                engine
                    .validate_relationship(&r)
                    .map_err(|e| Error::new(crate::rebac_kind(&e), format!("{name}: {e}")))?;
            }
            Ok(match u.operation {
                Operation::Touch => RelationshipUpdate::touch(r),
                Operation::Create => RelationshipUpdate::create(r),
                Operation::Delete => RelationshipUpdate::delete(r),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let revision = engine.write(&updates, &[]).await?;
    Ok(Json(
        json!({"revision": revision, "updates": updates.len()}),
    ))
}

/// `POST /v1/relationships/delete`.
#[utoipa::path(
    post,
    path = "/v1/relationships/delete",
    summary = "Delete relationships",
    request_body = DeleteRequest,
    responses((status = 200, body = DeleteAnswer), BodyErrors, EngineErrors, ServerErrors)
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<DeleteRequest>,
) -> Result<Json<Value>, Error> {
    let engine = state.engine()?;
    Error::check_batch(
        req.relationships.len(),
        state.config.max_batch,
        "relationships",
    )?;
    if req.relationships.is_empty() {
        return Err(Error::invalid_field("relationships", "must not be empty"));
    }
    // Deleting one relationship twice in a request is deleting it once (the engine refuses a
    // relationship repeated in one write).
    let mut seen = std::collections::BTreeSet::new();
    let mut updates = Vec::with_capacity(req.relationships.len());
    for (i, r) in req.relationships.iter().enumerate() {
        let r: Relationship = field(r, &format!("relationships[{i}]"))?;
        if seen.insert(r.key()) {
            updates.push(RelationshipUpdate::delete(r));
        }
    }
    let revision = engine.write(&updates, &[]).await?;
    Ok(Json(
        json!({"revision": revision, "deleted": updates.len()}),
    ))
}

/// `POST /v1/relationships/read`: at most `limit` (default and maximum: the batch limit), sorted,
/// with a `cursor` to the next page (`null` on the last).
#[utoipa::path(
    post,
    path = "/v1/relationships/read",
    summary = "Relationships matching a filter, sorted, a page at a time",
    request_body = ReadRequest,
    responses((status = 200, body = ReadAnswer), BodyErrors, EngineErrors, ServerErrors)
)]
pub async fn read(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<ReadRequest>,
) -> Result<Json<Value>, Error> {
    let engine = state.engine()?;
    let max = state.config.max_batch;
    let limit = req
        .limit
        .map_or(max, |l| usize::try_from(l).unwrap_or(usize::MAX));
    Error::check_batch(limit, max, "relationships")?;
    if req.resource_id.is_some() && req.resource_type.is_none() {
        return Err(Error::invalid_field("resource_id", "needs resource_type"));
    }
    check_filter_names(&req)?;
    let subject = match &req.subject {
        Some(s) => Some(SubjectFilter::exact(&field::<SubjectRef>(s, "subject")?)),
        None => None,
    };
    let filter = RelationshipFilter {
        resource_type: req.resource_type.as_deref().map(Into::into),
        resource_id: req.resource_id.as_deref().map(Into::into),
        relation: req.relation.as_deref().map(Into::into),
        subject,
    };
    let after = crate::lookup_routes::cursor(req.cursor)?;
    let consistency = read_options::consistency(req.consistency.as_ref())?;
    let rels = engine
        .with_consistency(consistency)
        .read(&filter, Some(MAX_READ_MATCHES.saturating_add(1)))
        .await?;
    if rels.len() > MAX_READ_MATCHES {
        return Err(Error::new(
            psm_core::ErrorKind::LimitExceeded,
            format!(
                "the filter matches more than {MAX_READ_MATCHES} relationships; narrow it \
                 (resource_type, resource_id, relation, subject)"
            ),
        ));
    }
    let (page, next) = read_page(rels, after.as_deref(), limit);
    Ok(Json(
        json!({"relationships": page, "truncated": next.is_some(), "cursor": next}),
    ))
}

/// The filter's names and id follow the rules of relationships (the type and id as in
/// `type:id`, the relation as in `type:id#relation`), so a filter that could match nothing
/// for its spelling is refused, as the API's schema says.
fn check_filter_names(req: &ReadRequest) -> Result<(), Error> {
    if let Some(t) = &req.resource_type {
        field::<ObjectRef>(&format!("{t}:x"), "resource_type")?;
    }
    if let Some(id) = &req.resource_id {
        field::<ObjectRef>(&format!("x:{id}"), "resource_id")?;
    }
    if let Some(r) = &req.relation {
        field::<SubjectRef>(&format!("x:x#{r}"), "relation")?;
    }
    Ok(())
}

/// The page of `limit` relationships (as text, sorted) after `after`, and the cursor of the
/// next page when there are more.
fn read_page(
    rels: Vec<Relationship>,
    after: Option<&str>,
    limit: usize,
) -> (Vec<String>, Option<String>) {
    let mut texts: Vec<String> = rels.iter().map(ToString::to_string).collect();
    texts.sort();
    crate::lookup_routes::page_after(texts, String::as_str, after, limit)
}

/// `GET /v1/schema`.
#[utoipa::path(
    get,
    path = "/v1/schema",
    summary = "The stored schema (SpiceDB language), or null",
    responses((status = 200, body = SchemaAnswer), EngineErrors, ServerErrors)
)]
pub async fn read_schema(State(state): State<Arc<AppState>>) -> Result<Json<Value>, Error> {
    let text = state.rebac()?.read_schema().await?;
    Ok(Json(json!({"schema": text})))
}

/// `PUT /v1/schema`: validates (errors name the line and column), stores, switches.
#[utoipa::path(
    put,
    path = "/v1/schema",
    summary = "Validate, store and use a schema (errors name line and column)",
    request_body = SchemaRequest,
    responses((status = 200, body = SchemaWritten), BodyErrors, EngineErrors, ServerErrors)
)]
pub async fn write_schema(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<SchemaRequest>,
) -> Result<Json<Value>, Error> {
    state.rebac()?;
    psm_rebac::Schema::parse_spicedb(&req.schema).map_err(|e| schema_error("schema", &e))?;
    let names = state.set_schema(&req.schema).await?;
    Ok(Json(json!({"definitions": names})))
}
