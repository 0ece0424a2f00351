//! `POST /v1/expand`: the tree of who has a permission on a resource (see
//! [`crate::rebac::tree_json`] for its JSON), at most [`MAX_EXPAND_SUBJECTS`] subjects.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use psm_rebac::ObjectRef;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::{ApiJson, Error};
use crate::openapi::{
    BodyErrors, ConsistencyValue, EngineErrors, ExpandAnswer, NameText, ObjectRefText, ServerErrors,
};
use crate::read_options;
use crate::rebac_routes::field;
use crate::render::{MAX_EXPAND_SUBJECTS, tree_json};
use crate::state::AppState;

/// `POST /v1/expand` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpandRequest {
    #[schema(value_type = ObjectRefText)]
    resource: String,
    #[schema(value_type = NameText)]
    permission: String,
    /// How fresh the answer must be.
    #[serde(default)]
    #[schema(value_type = ConsistencyValue)]
    consistency: Option<Value>,
}

/// `POST /v1/expand`: `{"tree": NODE}`.
#[utoipa::path(
    post,
    path = "/v1/expand",
    summary = "The tree of who has permission on resource: unions, intersections, exclusions and \
               arrows down to stored subjects (expired relationships left out, caveated subjects \
               with their caveat), at most 10000 subjects",
    request_body = ExpandRequest,
    responses((status = 200, body = ExpandAnswer), BodyErrors, EngineErrors, ServerErrors)
)]
pub async fn expand(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<ExpandRequest>,
) -> Result<Json<Value>, Error> {
    let engine = state.engine()?;
    let resource: ObjectRef = field(&req.resource, "resource")?;
    let consistency = read_options::consistency(req.consistency.as_ref())?;
    let tree = engine
        .with_consistency(consistency)
        .expand(&resource, &req.permission)
        .await?;
    Ok(Json(
        json!({"tree": tree_json(&tree, MAX_EXPAND_SUBJECTS)?}),
    ))
}
