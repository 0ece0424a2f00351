//! `GET /openapi.json`: the OpenAPI 3.1 description of the API, generated — by utoipa from
//! the handlers' `#[utoipa::path]` annotations and the request and response types — while
//! [`crate::router`] registers the routes (utoipa-axum's `OpenApiRouter`, so a route is
//! documented by being registered), then finished once at startup for this server: bearer auth
//! and 401 only when a token is configured (never on `/healthz` or `/openapi.json`), and the
//! configured batch limit as `maxItems`.

mod bodies;
mod errors;
mod text;

use std::sync::Arc;

use axum::Extension;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa::OpenApi;

pub use bodies::*;
pub use errors::*;
pub use text::*;

use crate::config::Config;

/// The routes anyone may call, token or not.
pub const PUBLIC_PATHS: [&str; 2] = ["/healthz", "/openapi.json"];

/// The parts of the document no handler states: its title, the error shape, the tags.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "psm",
        description = "Relationship checks and lookups, relationship and schema management, and \
                       per-session permissions. Relationships read `resource#relation@subject` \
                       (`document:spec#reader@group:eng#member`). Every error answers \
                       `{\"error\": {\"code\", \"message\", \"field\"?}}`; a known path with \
                       another method answers 405, an unknown path 404."
    ),
    components(schemas(ErrorBodySchema, ErrorDetailSchema))
)]
pub struct ApiDoc;

/// The document as served, built once at startup.
#[derive(Debug, Clone)]
pub struct OpenApiJson(pub Arc<Value>);

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    summary = "This document (OpenAPI 3.1)",
    responses(
        (status = 200, description = "OpenAPI 3.1", body = AnyObject, content_type = "application/json"),
        ServerErrors
    )
)]
pub async fn document(Extension(doc): Extension<OpenApiJson>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        axum::Json(doc.0.as_ref().clone()),
    )
        .into_response()
}

/// The generated document finished for this server: `secured` when a bearer token is
/// configured, the batch limit of `config`.
pub fn finish(doc: utoipa::openapi::OpenApi, secured: bool, config: &Config) -> Value {
    let mut v = serde_json::to_value(&doc).unwrap_or_else(|_| json!({}));
    v["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    v["openapi"] = json!("3.1.0");
    for pointer in batch_limits() {
        if let Some(slot) = v.pointer_mut(pointer) {
            *slot = json!(config.max_batch);
        }
    }
    for (schema, rule) in exclusions() {
        if let Some(obj) = v["components"]["schemas"][schema].as_object_mut() {
            obj.insert("not".into(), rule);
        }
    }
    if let Some(params) =
        v["paths"]["/v1/relationships/changes"]["get"]["parameters"].as_array_mut()
    {
        for p in params.iter_mut().filter(|p| p["name"] == "after") {
            p["schema"]["maximum"] = json!(u64::MAX);
        }
    }
    if secured {
        v["components"]["securitySchemes"] =
            json!({"bearer": {"type": "http", "scheme": "bearer"}});
        v["security"] = json!([{"bearer": []}]);
        if let Some(paths) = v["paths"].as_object_mut() {
            for (path, item) in paths.iter_mut() {
                let public = PUBLIC_PATHS.contains(&path.as_str());
                for op in operations(item) {
                    if public {
                        op["security"] = json!([]);
                    } else {
                        op["responses"]["401"] = json!({
                            "description": "no bearer token, or a wrong one",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                        });
                    }
                }
            }
        }
    }
    v
}

/// Combinations of fields each a handler refuses though every field alone is valid, as a `not`
/// on the request's schema: both spellings of contextual relationships in one check, a TTL with
/// `no_expiry`, `resource_id` without `resource_type`.
pub fn exclusions() -> [(&'static str, Value); 3] {
    let string = json!({"type": "string"});
    [
        (
            "CheckRequest",
            json!({"required": ["context", "contextual_relationships"], "properties": {
                "context": {"type": "array"},
                "contextual_relationships": {"minItems": 1}
            }}),
        ),
        (
            "StoreRequest",
            json!({"required": ["no_expiry", "ttl_seconds"], "properties": {
                "no_expiry": {"const": true},
                "ttl_seconds": {"type": "integer"}
            }}),
        ),
        (
            "ReadRequest",
            json!({"required": ["resource_id"], "properties": {"resource_id": string},
                   "not": {"required": ["resource_type"], "properties": {"resource_type": string}}}),
        ),
    ]
}

/// The operations of a path item.
pub fn operations(item: &mut Value) -> impl Iterator<Item = &mut Value> {
    item.as_object_mut()
        .into_iter()
        .flat_map(|m| m.iter_mut())
        .filter(|(k, _)| {
            ["get", "put", "post", "delete", "patch", "head", "options"].contains(&k.as_str())
        })
        .map(|(_, op)| op)
}

/// Where the configured batch limit (`Config::max_batch`) bounds a request: each a JSON
/// pointer into the document (the tests check every one exists).
pub fn batch_limits() -> [&'static str; 8] {
    [
        "/components/schemas/BulkCheckRequest/properties/items/maxItems",
        "/components/schemas/WriteRequest/properties/updates/maxItems",
        "/components/schemas/DeleteRequest/properties/relationships/maxItems",
        "/components/schemas/CheckRequest/properties/contextual_relationships/maxItems",
        "/components/schemas/CheckRequest/properties/context/oneOf/1/maxItems",
        "/components/schemas/ReadRequest/properties/limit/maximum",
        "/components/schemas/SessionCheckRequest/properties/permissions/maxItems",
        "/components/schemas/UpdateRequest/properties/permissions/maxItems",
    ]
}
